"""Applying the gate rules to stored messages: admit, park, release, and wake on time.

Ungated messages pass straight through `take_due`. A message with a queue or a flow-control
key goes to the back of its gate's wait list and is *promoted* (given a slot and made due now)
in FIFO order whenever the gate has room: at once, when a slot frees, when a rate window opens
(this object is the scheduler's Ticker for those times) or when a gate is resumed or widened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ..context import Context
from ..model import Kind, Message, State
from ..ports import GateStore
from . import rules as g
from .rules import Gate, GateKind, is_gated

PENDING = (State.CREATED, State.RETRY)


class Admission:
    """Stateless: every gate lives in the store, so any number of these may share a store."""

    def __init__(self, ctx: Context, gate_store: GateStore) -> None:
        self.ctx = ctx
        self.gate_store = gate_store

    # the due path
    def take_due(self, now_ms: int, limit: int) -> list[Message]:
        """Pop up to `limit` due messages that may start now; park the others."""
        taken: list[Message] = []
        while len(taken) < limit:
            due = self.ctx.messages.pop_due(now_ms, limit - len(taken))
            parked = False
            for message in due:
                if is_gated(message) and not self._admit(message, now_ms):
                    parked = True
                else:
                    taken.append(message)
            if not parked:
                break
        return taken

    def _admit(self, message: Message, now_ms: int) -> bool:
        with self.gate_store.gate_lock():
            return self._admit_locked(message, now_ms)

    def _admit_locked(self, message: Message, now_ms: int) -> bool:
        queue = message.queue_name
        if queue is not None and not self._pass(GateKind.QUEUE, queue, message, now_ms):
            return False
        if message.flow_control is not None:
            return self._pass(GateKind.FLOW, message.flow_control.key, message, now_ms)
        return True

    def _pass(self, kind: GateKind, name: str, message: Message, now_ms: int) -> bool:
        gate = self._gate_for(kind, name, message, now_ms)
        if message.message_id in gate.holders:
            return True
        if not (kind is GateKind.QUEUE and message.enlisted):
            self.gate_store.push_waiting(message.tenant, kind.value, name, message.message_id)
        return self.pump(message.tenant, gate, now_ms, current=message.message_id)

    def _gate_for(self, kind: GateKind, name: str, message: Message, now_ms: int) -> Gate:
        gate = self.gate_store.get_gate(message.tenant, kind.value, name)
        if gate is not None:
            return gate
        if kind is GateKind.QUEUE:
            return g.new_queue(name, now_ms)
        assert message.flow_control is not None
        return g.new_flow(message.flow_control, now_ms)

    def pump(self, tenant: str, gate: Gate, now_ms: int, current: str | None = None) -> bool:
        """Promote waiting messages while the gate has room; True if `current` got a slot."""
        gate = g.roll(gate, now_ms)
        got_current = False
        while g.has_room(gate):
            message_id = self.gate_store.pop_waiting(tenant, gate.kind.value, gate.name)
            if message_id is None:
                break
            message = self.ctx.messages.get_message(tenant, message_id)
            if message is None or message.state not in PENDING:
                continue
            gate = g.take(gate, message_id, now_ms)
            if message_id == current:
                got_current = True
            else:
                self.ctx.messages.put_message(replace(message, due_at_ms=now_ms))
        self.gate_store.put_gate(tenant, replace(gate, wake_at_ms=g.wake_time(gate)))
        return got_current

    def refresh(self, tenant: str, gate: Gate) -> None:
        """Store a changed gate and let waiting messages move if it now has room."""
        self.pump(tenant, gate, self.ctx.now_ms())
        self.ctx.wake(None)

    # accepting and finishing
    def on_accept(self, message: Message) -> None:
        """Create the message's queue on first use; apply its flow-control values."""
        if message.queue_name is None and message.flow_control is None:
            return
        with self.gate_store.gate_lock():
            self._accept_locked(message)

    def _accept_locked(self, message: Message) -> None:
        now_ms = self.ctx.now_ms()
        store = self.gate_store
        queue = message.queue_name
        if queue is not None and self._get(message.tenant, GateKind.QUEUE, queue) is None:
            store.put_gate(message.tenant, g.new_queue(queue, now_ms))
        flow = message.flow_control
        if flow is not None:
            gate = store.get_gate(message.tenant, GateKind.FLOW.value, flow.key)
            if gate is None:
                store.put_gate(message.tenant, g.new_flow(flow, now_ms))
            elif (configured := g.configure_flow(gate, flow, now_ms)) != gate:
                self.pump(message.tenant, configured, now_ms)

    def joins_queue_now(self, message: Message, now_ms: int) -> bool:
        """Does a new message join its queue's wait list at once? (Delayed ones join when due,
        so FIFO follows acceptance order even across instances.)"""
        return (message.kind is Kind.MESSAGE and message.queue_name is not None
                and message.not_before_ms <= now_ms)

    def enlist(self, message: Message, store: Callable[[Message], None]) -> None:
        """`store` the message and put it on its queue's wait list as one step for every
        instance (under the gate lock): another instance that takes it from the due set
        meanwhile admits it only after the lock, when it is on the list."""
        assert message.queue_name is not None
        with self.gate_store.gate_lock():
            store(message)
            self.gate_store.push_waiting(message.tenant, GateKind.QUEUE.value, message.queue_name,
                                        message.message_id)

    def adopt(self, source: Message, callback: Message) -> None:
        """A queued message's callback holds the source's queue slot until it finishes."""
        if source.queue_name is None:
            return
        with self.gate_store.gate_lock():
            gate = self._get(source.tenant, GateKind.QUEUE, source.queue_name)
            if gate is not None and source.message_id in gate.holders:
                self.gate_store.put_gate(
                    source.tenant, g.adopt(gate, source.message_id, callback.message_id))

    def after_attempt(self, message: Message) -> None:
        """An attempt of `message` ended: free its flow-control slot; finish if terminal."""
        if message.queue_name is None and message.flow_control is None:
            return
        with self.gate_store.gate_lock():
            self._after_attempt_locked(message)

    def _after_attempt_locked(self, message: Message) -> None:
        current = self.ctx.messages.get_message(message.tenant, message.message_id) or message
        if current.flow_control is not None:
            self._release(current.tenant, GateKind.FLOW, current.flow_control.key, current)
        if current.finished:
            self.on_terminal(current)

    def on_terminal(self, message: Message) -> None:
        """`message` is DELIVERED, FAILED or CANCELED: free what it holds (idempotent)."""
        if message.flow_control is None and message.queue_name is None:
            return
        with self.gate_store.gate_lock():
            self._terminal_locked(message)

    def _terminal_locked(self, message: Message) -> None:
        if message.flow_control is not None:
            self._release(message.tenant, GateKind.FLOW, message.flow_control.key, message)
        if message.queue_name is None:
            return
        if message.kind is not Kind.MESSAGE:
            self._child_done(message, message.queue_name)
            return
        gate = self._get(message.tenant, GateKind.QUEUE, message.queue_name)
        if gate is not None and not g.has_children(gate, message.message_id):
            self._release(message.tenant, GateKind.QUEUE, message.queue_name, message)

    def _child_done(self, child: Message, queue: str) -> None:
        gate = self._get(child.tenant, GateKind.QUEUE, queue)
        source_id = child.source_message_id
        assert source_id is not None
        if gate is None or (source_id, child.message_id) not in gate.children:
            return
        gate = g.drop_child(gate, source_id, child.message_id)
        source = self.ctx.messages.get_message(child.tenant, source_id)
        source_done = source is None or source.finished
        if source_done and not g.has_children(gate, source_id):
            gate = g.release(gate, source_id)
        self.pump(child.tenant, gate, self.ctx.now_ms())

    def _release(self, tenant: str, kind: GateKind, name: str, message: Message) -> None:
        gate = self._get(tenant, kind, name)
        if gate is None or message.message_id not in gate.holders:
            return
        self.pump(tenant, g.release(gate, message.message_id), self.ctx.now_ms())

    def _get(self, tenant: str, kind: GateKind, name: str) -> Gate | None:
        return self.gate_store.get_gate(tenant, kind.value, name)

    # Ticker: rate windows opening
    def next_due_ms(self) -> int | None:
        return self.gate_store.next_gate_wake_ms()

    def fire_due(self, now_ms: int) -> int:
        first = self.gate_store.next_gate_wake_ms()
        if first is None or first > now_ms:  # nothing to wake: no need for the lock
            return 0
        with self.gate_store.gate_lock():
            return self._fire_locked(now_ms)

    def _fire_locked(self, now_ms: int) -> int:
        woken = 0
        for tenant, kind, name in self.gate_store.pop_gate_wakes(now_ms):
            gate = self.gate_store.get_gate(tenant, kind, name)
            if gate is not None:
                self.pump(tenant, gate, now_ms)
                woken += 1
        return woken
