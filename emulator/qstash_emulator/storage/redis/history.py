"""History in Redis: bounded lists of log events and delivery records, DLQ entries, sequence
numbers taken in blocks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ...core.model import DeliveryRecord, DlqEntry, LogEvent
from .base import RedisBase, glob_escape, tenant_of_segment, text
from .codec import decode, encode

SEQ_BLOCK = 100


class RedisHistory:
    """`P:t:T:logs` and `P:t:T:deliveries` (lists of JSON, newest kept), `P:t:T:dlq` (an
    ordered hash), `P:t:T:counts` (log events so far by state) and the counter `P:seq`."""

    def __init__(self, base: RedisBase, max_logs: int, max_deliveries: int) -> None:
        self._base = base
        self._max_logs = max_logs
        self._max_deliveries = max_deliveries
        self._seqs: Iterator[int] = iter(())

    def next_seq(self) -> int:
        """Unique across instances; taken from Redis in blocks of `SEQ_BLOCK` (one round trip
        per block), so numbers increase within one instance and only roughly across them."""
        seq = next(self._seqs, None)
        if seq is None:  # order against other writes does not matter: the raw client
            end = int(self._base.raw.incrby(self._base.key("seq"), SEQ_BLOCK))
            self._seqs = iter(range(end - SEQ_BLOCK + 1, end + 1))
            seq = next(self._seqs)
        return seq

    def append_log(self, tenant: str, event: LogEvent) -> None:
        self._base.writes.increment(self._base.tkey(tenant, "counts"), event.state.value)
        self._base.append(self._base.tkey(tenant, "logs"), encode(event), self._max_logs)

    def logs(self, tenant: str) -> Sequence[LogEvent]:
        raw = self._base.client.lrange(self._base.tkey(tenant, "logs"), 0, -1)
        return [decode(LogEvent, item) for item in raw]

    def put_dlq(self, tenant: str, entry: DlqEntry) -> None:
        self._base.put_ordered(self._base.tkey(tenant, "dlq"), entry.dlq_id, entry)

    def get_dlq(self, tenant: str, dlq_id: str) -> DlqEntry | None:
        return self._base.get_ordered(self._base.tkey(tenant, "dlq"), dlq_id, DlqEntry)

    def delete_dlq(self, tenant: str, dlq_id: str) -> bool:
        return self._base.delete_ordered(self._base.tkey(tenant, "dlq"), dlq_id)

    def dlq(self, tenant: str) -> Sequence[DlqEntry]:
        return self._base.list_ordered(self._base.tkey(tenant, "dlq"), DlqEntry)

    def append_delivery(self, record: DeliveryRecord) -> None:
        self._base.append(self._base.tkey(record.tenant, "deliveries"), encode(record),
                          self._max_deliveries)

    def deliveries(self, tenant: str) -> Sequence[DeliveryRecord]:
        raw = self._base.client.lrange(self._base.tkey(tenant, "deliveries"), 0, -1)
        return [decode(DeliveryRecord, item) for item in raw]

    def delivery_tenants(self) -> list[str]:
        prefix = self._base.prefix
        start = len(prefix) + 3  # after "P:t:"
        pattern = f"{glob_escape(prefix)}:t:*:deliveries"
        segments = {text(key)[start:-len(":deliveries")]
                    for key in self._base.client.scan_iter(match=pattern, count=1000)}
        return sorted(tenant_of_segment(segment) for segment in segments)

    # counters and newest-first reads (the dashboard)
    def dlq_count(self, tenant: str) -> int:
        return int(self._base.client.hlen(self._base.tkey(tenant, "dlq")))

    def event_counts(self, tenant: str) -> dict[str, int]:
        counts = self._base.client.hgetall(self._base.tkey(tenant, "counts"))
        return {text(state): int(count) for state, count in counts.items()}

    def log_page(self, tenant: str, start: int, count: int) -> list[LogEvent]:
        raw = self._base.client.lrange(self._base.tkey(tenant, "logs"), -(start + count),
                                       -(start + 1))
        return [decode(LogEvent, item) for item in reversed(raw)]
