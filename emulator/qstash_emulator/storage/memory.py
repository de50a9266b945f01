"""The in-process store: dicts per tenant plus one heap of due times."""

from __future__ import annotations

import heapq
import itertools
from collections import Counter, OrderedDict, deque
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace

from ..core.model import (
    DeliveryRecord,
    DlqEntry,
    LogEvent,
    Message,
    MessageCounts,
    SigningKeys,
    State,
)
from ..core.schedules.model import Schedule
from ..core.url_groups.model import UrlGroup
from .memory_gates import MemoryGates
from .memory_quotas import MemoryQuotas

PENDING = (State.CREATED, State.RETRY)
DEDUP_SWEEP_AT = 10_000


def _drop_expired(dedup: dict[str, tuple[str, int]], now_ms: int) -> None:
    for key in [k for k, (_, expires_at) in dedup.items() if expires_at <= now_ms]:
        del dedup[key]


@dataclass
class TenantData:
    active: dict[str, Message] = field(default_factory=dict)
    finished: OrderedDict[str, Message] = field(default_factory=OrderedDict)
    dedup: dict[str, tuple[str, int]] = field(default_factory=dict)
    dedup_sweep_at: int = 10_000
    logs: deque[LogEvent] = field(default_factory=deque)
    events: Counter[str] = field(default_factory=Counter)
    dlq: dict[str, DlqEntry] = field(default_factory=dict)
    deliveries: deque[DeliveryRecord] = field(default_factory=deque)
    keys: SigningKeys | None = None
    schedules: dict[str, Schedule] = field(default_factory=dict)
    url_groups: dict[str, UrlGroup] = field(default_factory=dict)


class MemoryStore(MemoryGates, MemoryQuotas):
    """Everything in this process; bounded histories so long runs keep a flat footprint.

    >>> store = MemoryStore(max_finished=1000, max_logs=10000)
    """

    name = "memory"
    poll_s: float | None = None

    def __init__(
        self, *, max_finished: int = 50_000, max_logs: int = 200_000, max_deliveries: int = 100_000
    ) -> None:
        self._tenants: dict[str, TenantData] = {}
        self._due: list[tuple[int, int, str, str]] = []
        self._counter = itertools.count(1)
        self._max_finished = max_finished
        self._max_logs = max_logs
        self._max_deliveries = max_deliveries
        self._meta: dict[str, str] = {}
        self._init_gates()
        self._init_quotas()

    def _tenant(self, tenant: str) -> TenantData:
        data = self._tenants.get(tenant)
        if data is None:
            data = self._tenants[tenant] = TenantData(
                logs=deque(maxlen=self._max_logs), deliveries=deque(maxlen=self._max_deliveries)
            )
        return data

    # messages
    def put_message(self, message: Message) -> None:
        data = self._tenant(message.tenant)
        if message.finished:
            data.active.pop(message.message_id, None)
            data.finished[message.message_id] = message
            if len(data.finished) > self._max_finished:
                data.finished.popitem(last=False)
            return
        if message.state is State.ACTIVE and message.message_id in data.finished:
            return  # an attempt never revives a finished (e.g. cancelled) message
        data.active[message.message_id] = message
        if message.state in PENDING:
            entry = (message.due_at_ms, next(self._counter), message.tenant, message.message_id)
            heapq.heappush(self._due, entry)

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

    # logs, DLQ, deliveries, keys
    def next_seq(self) -> int:
        return next(self._counter)

    def append_log(self, tenant: str, event: LogEvent) -> None:
        data = self._tenant(tenant)
        data.logs.append(event)
        data.events[event.state.value] += 1

    def logs(self, tenant: str) -> Sequence[LogEvent]:
        data = self._tenants.get(tenant)
        return list(data.logs) if data else []

    def put_dlq(self, tenant: str, entry: DlqEntry) -> None:
        self._tenant(tenant).dlq[entry.dlq_id] = entry

    def get_dlq(self, tenant: str, dlq_id: str) -> DlqEntry | None:
        data = self._tenants.get(tenant)
        return data.dlq.get(dlq_id) if data else None

    def delete_dlq(self, tenant: str, dlq_id: str) -> bool:
        data = self._tenants.get(tenant)
        return data is not None and data.dlq.pop(dlq_id, None) is not None

    def dlq(self, tenant: str) -> Sequence[DlqEntry]:
        data = self._tenants.get(tenant)
        return list(data.dlq.values()) if data else []

    def get_keys(self, tenant: str) -> SigningKeys | None:
        data = self._tenants.get(tenant)
        return data.keys if data else None

    def set_keys(self, tenant: str, keys: SigningKeys) -> None:
        self._tenant(tenant).keys = keys

    def append_delivery(self, record: DeliveryRecord) -> None:
        self._tenant(record.tenant).deliveries.append(record)

    def deliveries(self, tenant: str) -> Sequence[DeliveryRecord]:
        data = self._tenants.get(tenant)
        return list(data.deliveries) if data else []

    def delivery_tenants(self) -> list[str]:
        return sorted(name for name, data in self._tenants.items() if data.deliveries)

    def reset(self, tenant: str | None) -> None:
        self._reset_gates(tenant)
        if tenant is None:
            self._tenants.clear()
            self._due.clear()
        else:
            self._tenants.pop(tenant, None)

    # newest-first reads and counters (the dashboard)
    def message_counts(self, tenant: str) -> MessageCounts:
        data = self._tenants.get(tenant)
        if data is None:
            return MessageCounts()
        return MessageCounts(len(data.active), len(data.dlq), dict(data.events))

    def message_page(self, tenant: str, finished: bool, start: int, count: int
                     ) -> list[Message]:
        data = self._tenants.get(tenant)
        if data is None:
            return []
        held = data.finished if finished else data.active
        return list(itertools.islice(reversed(held.values()), start, start + count))

    def log_page(self, tenant: str, start: int, count: int) -> list[LogEvent]:
        data = self._tenants.get(tenant)
        if data is None:
            return []
        return list(itertools.islice(reversed(data.logs), start, start + count))

    # schedules and URL groups
    def put_schedule(self, schedule: Schedule) -> None:
        self._tenant(schedule.tenant).schedules[schedule.schedule_id] = schedule

    def get_schedule(self, tenant: str, schedule_id: str) -> Schedule | None:
        data = self._tenants.get(tenant)
        return data.schedules.get(schedule_id) if data else None

    def delete_schedule(self, tenant: str, schedule_id: str) -> bool:
        data = self._tenants.get(tenant)
        return data is not None and data.schedules.pop(schedule_id, None) is not None

    def schedules(self, tenant: str) -> Sequence[Schedule]:
        data = self._tenants.get(tenant)
        return list(data.schedules.values()) if data else []

    def all_schedules(self) -> Iterable[Schedule]:
        return [s for data in self._tenants.values() for s in data.schedules.values()]

    def put_url_group(self, group: UrlGroup) -> None:
        self._tenant(group.tenant).url_groups[group.name] = group

    def get_url_group(self, tenant: str, name: str) -> UrlGroup | None:
        data = self._tenants.get(tenant)
        return data.url_groups.get(name) if data else None

    def delete_url_group(self, tenant: str, name: str) -> bool:
        data = self._tenants.get(tenant)
        return data is not None and data.url_groups.pop(name, None) is not None

    def url_groups(self, tenant: str) -> Sequence[UrlGroup]:
        data = self._tenants.get(tenant)
        return list(data.url_groups.values()) if data else []

    def get_meta(self, name: str) -> str | None:
        return self._meta.get(name)

    def set_meta(self, name: str, value: str) -> None:
        self._meta[name] = value

    def deferred(self) -> AbstractContextManager[None]:
        return nullcontext()

    async def commit(self) -> None:
        return None

    def close(self) -> None:
        return None
