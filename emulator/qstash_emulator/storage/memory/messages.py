"""Messages in this process: dicts per tenant, one heap of due times, dedup ids."""

from __future__ import annotations

import heapq
import itertools
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from ...core.model import Message, State
from .budget import HistoryBudget, message_bytes

PENDING = (State.CREATED, State.RETRY)
DEDUP_SWEEP_AT = 10_000


@dataclass
class TenantMessages:
    active: dict[str, Message] = field(default_factory=dict)
    finished: OrderedDict[str, Message] = field(default_factory=OrderedDict)
    dedup: dict[str, tuple[str, int]] = field(default_factory=dict)
    dedup_sweep_at: int = DEDUP_SWEEP_AT


def _drop_expired(dedup: dict[str, tuple[str, int]], now_ms: int) -> None:
    for key in [k for k, (_, expires_at) in dedup.items() if expires_at <= now_ms]:
        del dedup[key]


class MemoryMessages:
    """Unfinished and (up to `max_finished` per tenant) finished messages, and a heap of due
    times with lazy deletion: an entry counts only while it matches its message."""

    def __init__(self, max_finished: int, budget: HistoryBudget | None = None) -> None:
        self._tenants: dict[str, TenantMessages] = {}
        self._due: list[tuple[int, int, str, str]] = []
        self._counter = itertools.count(1)
        self._max_finished = max_finished
        self._budget = budget or HistoryBudget(None)
        self._budget.register("finished", self._evict_finished)

    def _evict_finished(self, tenant: str) -> int:
        return message_bytes(self._tenants[tenant].finished.popitem(last=False)[1])

    def _tenant(self, tenant: str) -> TenantMessages:
        data = self._tenants.get(tenant)
        if data is None:
            data = self._tenants[tenant] = TenantMessages()
        return data

    def put_message(self, message: Message) -> None:
        data = self._tenant(message.tenant)
        if message.finished:
            self._finish(data, message)
            return
        if message.state is State.ACTIVE and message.message_id in data.finished:
            return  # an attempt never revives a finished (e.g. cancelled) message
        data.active[message.message_id] = message
        if message.state in PENDING:
            entry = (message.due_at_ms, next(self._counter), message.tenant, message.message_id)
            heapq.heappush(self._due, entry)

    def _finish(self, data: TenantMessages, message: Message) -> None:
        """Keep a finished message among the newest, within this tenant's cap and the budget
        (a message finished again moves to the newest end)."""
        data.active.pop(message.message_id, None)
        earlier = data.finished.pop(message.message_id, None)
        if earlier is not None:
            self._budget.forget("finished", message.tenant, message_bytes(earlier))
        elif len(data.finished) >= self._max_finished:
            _, oldest = data.finished.popitem(last=False)
            self._budget.forget("finished", message.tenant, message_bytes(oldest))
        data.finished[message.message_id] = message
        self._budget.charge("finished", message.tenant, message_bytes(message))

    def get_message(self, tenant: str, message_id: str) -> Message | None:
        data = self._tenants.get(tenant)
        if data is None:
            return None
        return data.active.get(message_id) or data.finished.get(message_id)

    def get_messages(self, wanted: Sequence[tuple[str, str]]) -> list[Message | None]:
        return [self.get_message(tenant, message_id) for tenant, message_id in wanted]

    def active_messages(self, tenant: str) -> Iterable[Message]:
        data = self._tenants.get(tenant)
        return list(data.active.values()) if data else []

    def pop_due(self, now_ms: int, limit: int) -> list[Message]:
        due: list[Message] = []
        while self._due and len(due) < limit and self._due[0][0] <= now_ms:
            due_at, _, tenant, message_id = heapq.heappop(self._due)
            message = self._live(tenant, message_id, due_at)
            if message is not None:
                due.append(message)
        return due

    def release(self, tenant: str, message_id: str, now_ms: int) -> None:
        data = self._tenants.get(tenant)
        message = data.active.get(message_id) if data else None
        if message is not None:
            state = State.RETRY if message.retried else State.CREATED
            self.put_message(replace(message, state=state, due_at_ms=now_ms))

    def _live(self, tenant: str, message_id: str, due_at: int) -> Message | None:
        data = self._tenants.get(tenant)
        message = data.active.get(message_id) if data else None
        if message is None or message.state not in PENDING or message.due_at_ms != due_at:
            return None
        return message

    def next_due_ms(self) -> int | None:
        while self._due:
            due_at, _, tenant, message_id = self._due[0]
            if self._live(tenant, message_id, due_at) is not None:
                return due_at
            heapq.heappop(self._due)
        return None

    def claim_dedup(
        self, tenant: str, key: str, message_id: str, now_ms: int, window_ms: int
    ) -> str | None:
        data = self._tenant(tenant)
        existing = data.dedup.get(key)
        if existing is not None and existing[1] > now_ms:
            return existing[0]
        if len(data.dedup) >= data.dedup_sweep_at:
            _drop_expired(data.dedup, now_ms)
            data.dedup_sweep_at = max(DEDUP_SWEEP_AT, 2 * len(data.dedup))
        data.dedup[key] = (message_id, now_ms + window_ms)
        return None

    def reset(self, tenant: str | None) -> None:
        names = list(self._tenants) if tenant is None else [tenant]
        for name in names:
            data = self._tenants.pop(name, None)  # its heap entries are no longer live
            for message in data.finished.values() if data else ():
                self._budget.forget("finished", name, message_bytes(message))
        if tenant is None:
            self._due.clear()

    # newest-first reads (the dashboard)
    def unfinished_count(self, tenant: str) -> int:
        data = self._tenants.get(tenant)
        return len(data.active) if data else 0

    def message_page(self, tenant: str, finished: bool, start: int, count: int
                     ) -> list[Message]:
        data = self._tenants.get(tenant)
        if data is None:
            return []
        held = data.finished if finished else data.active
        return list(itertools.islice(reversed(held.values()), start, start + count))
