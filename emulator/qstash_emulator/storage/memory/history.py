"""History in this process: bounded logs and delivery records, DLQ entries, one counter."""

from __future__ import annotations

import itertools
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from ...core.model import DeliveryRecord, DlqEntry, LogEvent
from .budget import HistoryBudget, delivery_bytes, log_bytes


@dataclass
class TenantHistory:
    logs: deque[LogEvent]
    deliveries: deque[DeliveryRecord]
    dlq: dict[str, DlqEntry] = field(default_factory=dict)
    events: Counter[str] = field(default_factory=Counter)


class MemoryHistory:
    """The newest `max_logs` log events and `max_deliveries` records per tenant, and within
    the shared `budget` for every tenant together, so long runs keep a flat footprint; DLQ
    entries in insertion order."""

    def __init__(self, max_logs: int, max_deliveries: int,
                 budget: HistoryBudget | None = None) -> None:
        self._tenants: dict[str, TenantHistory] = {}
        self._counter = itertools.count(1)
        self._max_logs = max_logs
        self._max_deliveries = max_deliveries
        self._budget = budget or HistoryBudget(None)
        self._budget.register("logs", self._evict_log)
        self._budget.register("deliveries", self._evict_delivery)

    def _tenant(self, tenant: str) -> TenantHistory:
        data = self._tenants.get(tenant)
        if data is None:
            data = self._tenants[tenant] = TenantHistory(deque(), deque())
        return data

    def _evict_log(self, tenant: str) -> int:
        return log_bytes(self._tenants[tenant].logs.popleft())

    def _evict_delivery(self, tenant: str) -> int:
        return delivery_bytes(self._tenants[tenant].deliveries.popleft())

    def next_seq(self) -> int:
        return next(self._counter)

    def append_log(self, tenant: str, event: LogEvent) -> None:
        data = self._tenant(tenant)
        if len(data.logs) >= self._max_logs:
            self._budget.forget("logs", tenant, log_bytes(data.logs.popleft()))
        data.logs.append(event)
        data.events[event.state.value] += 1
        self._budget.charge("logs", tenant, log_bytes(event))

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

    def append_delivery(self, record: DeliveryRecord) -> None:
        data = self._tenant(record.tenant)
        if len(data.deliveries) >= self._max_deliveries:
            dropped = data.deliveries.popleft()
            self._budget.forget("deliveries", record.tenant, delivery_bytes(dropped))
        data.deliveries.append(record)
        self._budget.charge("deliveries", record.tenant, delivery_bytes(record))

    def deliveries(self, tenant: str) -> Sequence[DeliveryRecord]:
        data = self._tenants.get(tenant)
        return list(data.deliveries) if data else []

    def delivery_tenants(self) -> list[str]:
        return sorted(name for name, data in self._tenants.items() if data.deliveries)

    # counters and newest-first reads (the dashboard)
    def dlq_count(self, tenant: str) -> int:
        data = self._tenants.get(tenant)
        return len(data.dlq) if data else 0

    def event_counts(self, tenant: str) -> dict[str, int]:
        data = self._tenants.get(tenant)
        return dict(data.events) if data else {}

    def log_page(self, tenant: str, start: int, count: int) -> list[LogEvent]:
        data = self._tenants.get(tenant)
        if data is None:
            return []
        return list(itertools.islice(reversed(data.logs), start, start + count))

    def reset(self, tenant: str | None) -> None:
        names = list(self._tenants) if tenant is None else [tenant]
        for name in names:
            data = self._tenants.pop(name, None)
            if data is None:
                continue
            for event in data.logs:
                self._budget.forget("logs", name, log_bytes(event))
            for record in data.deliveries:
                self._budget.forget("deliveries", name, delivery_bytes(record))
