"""Queues: upsert, get, list, delete, pause, resume, and enqueueing into one.

Deleting a queue cancels every message still in it (logged CANCEL_REQUESTED, CANCELED); an
attempt already in flight completes but is not retried. Pausing holds messages that have not
started; a message that already holds a slot finishes its retries and callbacks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from .. import protocol as p
from ..context import Context
from ..errors import BadRequest, NotFound, PreconditionFailed
from ..messages.parse import Parsed
from ..messages.queries import Queries
from ..model import Kind, Message
from ..plans import Plans
from ..ports import GateStore
from . import rules as g
from .admission import Admission
from .rules import Gate, GateKind

QUEUE = GateKind.QUEUE.value


@dataclass(frozen=True, slots=True)
class QueueInfo:
    gate: Gate
    lag: int


@dataclass(frozen=True, slots=True)
class QueueUpsert:
    name: str
    parallelism: int
    paused: bool


def check_name(name: str) -> str:
    if not g.NAME_PATTERN.match(name):
        raise BadRequest(p.INVALID_QUEUE_NAME.format(name=name))
    return name


def enqueued(parsed: Parsed, queue: str, headers: Mapping[str, str]) -> Parsed:
    """A publish into `queue`: valid name, no delay or not-before (QStash refuses them)."""
    check_name(queue)
    if p.DELAY in headers or p.NOT_BEFORE in headers:
        raise BadRequest(p.ENQUEUE_DELAY)
    return replace(parsed, template=replace(parsed.template, queue_name=queue))


def parse_upsert(body: object) -> QueueUpsert:
    """`{"queueName": str, "parallelism": int = 1, "paused": bool = false}`."""
    if not isinstance(body, dict):
        raise BadRequest('invalid body: want {"queueName", "parallelism", "paused"}')
    name = body.get("queueName")
    parallelism = body.get("parallelism", 1)
    paused = body.get("paused", False)
    if not isinstance(name, str):
        raise BadRequest("invalid body: queueName must be a string")
    if isinstance(parallelism, bool) or not isinstance(parallelism, int) or parallelism < 1:
        raise BadRequest("invalid body: parallelism must be a positive integer")
    if not isinstance(paused, bool):
        raise BadRequest("invalid body: paused must be a boolean")
    return QueueUpsert(check_name(name), parallelism, paused)


class Queues:
    def __init__(
        self, ctx: Context, gate_store: GateStore, gates: Admission, plans: Plans,
        queries: Queries,
    ) -> None:
        self.ctx = ctx
        self.gate_store = gate_store
        self.gates = gates
        self.plans = plans
        self.queries = queries

    def _gate(self, tenant: str, name: str) -> Gate:
        gate = self.gate_store.get_gate(tenant, QUEUE, name)
        if gate is None:
            raise NotFound(p.QUEUE_NOT_FOUND.format(name=name))
        return gate

    def check_room(self, tenant: str, names: Iterable[str]) -> None:
        """412 if creating the queues among `names` that do not exist would pass the limit."""
        limit = self.plans.limit(tenant, "queues")
        store = self.gate_store
        if limit is None or all(store.get_gate(tenant, QUEUE, name) for name in names):
            return
        existing = {gate.name for gate in store.gates(tenant, QUEUE)}
        if len(existing | set(names)) > limit:
            raise PreconditionFailed(p.QUEUE_LIMIT.format(limit=limit))

    def upsert(self, tenant: str, request: QueueUpsert) -> None:
        maximum = self.plans.limit(tenant, "parallelism")
        if maximum is not None and request.parallelism > maximum:
            raise PreconditionFailed(
                p.PARALLELISM_LIMIT.format(value=request.parallelism, limit=maximum))
        now_ms = self.ctx.now_ms()
        with self.gate_store.gate_lock():  # read-modify-write, atomic across instances
            gate = self.gate_store.get_gate(tenant, QUEUE, request.name)
            if gate is None:
                self.check_room(tenant, [request.name])
                gate = g.new_queue(request.name, now_ms)
            updated = replace(
                gate, parallelism=request.parallelism, paused=request.paused, updated_at_ms=now_ms
            )
            self.gates.refresh(tenant, updated)

    def get(self, tenant: str, name: str) -> QueueInfo:
        gate = self._gate(tenant, name)
        return QueueInfo(gate, self._lags(tenant).get(name, 0))

    def list(self, tenant: str) -> list[QueueInfo]:
        lags = self._lags(tenant)
        gates = sorted(self.gate_store.gates(tenant, QUEUE), key=lambda gate: gate.created_at_ms)
        return [QueueInfo(gate, lags.get(gate.name, 0)) for gate in gates]

    def _lags(self, tenant: str) -> dict[str, int]:
        """Undelivered messages per queue."""
        lags: dict[str, int] = {}
        for message in self.ctx.messages.active_messages(tenant):
            if message.queue_name is not None and message.kind is Kind.MESSAGE:
                lags[message.queue_name] = lags.get(message.queue_name, 0) + 1
        return lags

    def delete(self, tenant: str, name: str) -> None:
        self._gate(tenant, name)
        self.gate_store.delete_gate(tenant, QUEUE, name)
        for message in list(self._members(tenant, name)):
            self.queries.cancel(tenant, message.message_id)

    def _members(self, tenant: str, name: str) -> Iterable[Message]:
        return (m for m in self.ctx.messages.active_messages(tenant)
                if m.queue_name == name and m.kind is Kind.MESSAGE)

    def set_paused(self, tenant: str, name: str, paused: bool) -> None:
        with self.gate_store.gate_lock():  # read-modify-write, atomic across instances
            gate = self._gate(tenant, name)
            if gate.paused != paused:
                self.gates.refresh(
                    tenant, replace(gate, paused=paused, updated_at_ms=self.ctx.now_ms()))
