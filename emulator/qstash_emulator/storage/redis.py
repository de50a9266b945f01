"""The Redis store: the memory store's contents in Redis, shared by restarts and instances.

Key layout (`P` is the prefix, `T` a tenant with `%` and `:` escaped):

    P:t:T:active, P:t:T:active:order          pending/in-flight messages (hash id -> JSON, zset)
    P:t:T:finished, P:t:T:finished:order      finished messages, oldest trimmed
    P:t:T:dlq, P:t:T:dlq:order                DLQ entries in insertion order
    P:t:T:logs, P:t:T:deliveries              bounded lists of JSON
    P:t:T:counts                              hash state -> log events so far
    P:t:T:keys                                signing keys after rotation
    P:t:T:dedup:<key>                         "<expires at ms>|<message id>"
    P:due                                     zset "T\\n<id>" scored by due time (ms)
    P:claims                                  hash "T\\n<id>" -> instance making the attempt
    P:instances, P:lease:<instance>           live instances (see `Lease`)
    P:seq, P:order, P:meta                    counters and emulator-wide values (clock)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from typing import Any, TypeVar

import redis
from redis.commands.core import Script

from ..core.gating.rules import Gate
from ..core.model import (
    DeliveryRecord,
    DlqEntry,
    LogEvent,
    Message,
    MessageCounts,
    QuotaSettings,
    SigningKeys,
    State,
    Usage,
)
from ..core.schedules.model import Schedule
from ..core.url_groups.model import UrlGroup
from . import redis_lua as lua
from .codec import decode, encode
from .leases import Lease
from .redis_writes import WriteBehind, WritesFirst

T = TypeVar("T")
# wall-clock lifetimes of usage counters (a window's key changes when it is over)
USAGE_TTL_S = {"burst": 120, "daily": 3 * 86_400, "monthly": 63 * 86_400}
PENDING = (State.CREATED, State.RETRY)
DEFAULT_PREFIX = "qstash-emulator"
SEQ_BLOCK = 100


def tenant_segment(tenant: str) -> str:
    """`tenant` made safe as one `:`-separated key segment (no `:` or newline in it)."""
    return tenant.replace("%", "%25").replace(":", "%3A").replace("\n", "%0A")


def tenant_of_segment(segment: str) -> str:
    return segment.replace("%0A", "\n").replace("%3A", ":").replace("%25", "%")


def glob_escape(pattern: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in pattern)


def text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


class RedisStore:
    """Everything in Redis under `prefix`; safe to share between processes.

    >>> store = RedisStore.from_url("redis://127.0.0.1:6379/0", prefix="my-tests")  # doctest: +SKIP
    """

    name = "redis"
    poll_s: float | None = 0.2

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        lease_ms: int = 5000,
        max_finished: int = 50_000,
        max_logs: int = 200_000,
        max_deliveries: int = 100_000,
    ) -> None:
        self.prefix = prefix
        self._max_finished = max_finished
        self._max_logs = max_logs
        self._max_deliveries = max_deliveries
        self._gate_lock_depth = 0
        self._writes = WriteBehind(client, prefix, max_finished)
        self._raw = client
        ordered: Any = WritesFirst(client, self._writes)
        self.client = ordered
        self._release = Script(ordered, lua.RELEASE_CLAIMS)
        self._release_one = Script(ordered, lua.RELEASE_ONE)
        self._claim_dedup = Script(ordered, lua.CLAIM_DEDUP)
        self._put_ordered = Script(ordered, lua.PUT_ORDERED)
        self._list_ordered = Script(ordered, lua.LIST_ORDERED)
        self._delete_ordered = Script(ordered, lua.DELETE_ORDERED)
        self._seqs: Iterator[int] = iter(())
        self.lease = Lease(client, prefix, lease_ms)
        self.lease.start()
        self.closed = False

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisStore:
        return cls(redis.Redis.from_url(url), **options)

    # keys
    def _key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    def _tkey(self, tenant: str, kind: str) -> str:
        return f"{self.prefix}:t:{tenant_segment(tenant)}:{kind}"

    def _member(self, tenant: str, message_id: str) -> str:
        return f"{tenant_segment(tenant)}\n{message_id}"

    # writes held back and sent together
    def deferred(self) -> AbstractContextManager[None]:
        """Within this block, storing messages, logging and counting usage are queued; they
        reach Redis at `commit()` or before this process's next command, whichever is first."""
        return self._writes.deferred()

    async def commit(self) -> None:
        """Wait until every deferred write is in Redis (one round trip for all waiting)."""
        await self._writes.commit()

    # messages
    def put_message(self, message: Message) -> None:
        if message.finished:
            kind = "f"
        elif message.state in PENDING:
            kind = "p"
        else:
            kind = "a" if message.state is State.ACTIVE else "o"
        self._writes.put_message(tenant_segment(message.tenant), message.message_id,
                                 encode(message), kind, message.due_at_ms)
        self._send_unless_deferred()

    def _send_unless_deferred(self) -> None:
        """Messages, log entries and usage counts all go through the write queue; outside
        `deferred()` it is sent at once."""
        if not self._writes.deferring:
            self._writes.flush()

    def get_message(self, tenant: str, message_id: str) -> Message | None:
        # a message only ever moves from active to finished, so this order never misses one
        raw = self.client.hget(self._tkey(tenant, "active"), message_id)
        if raw is None:
            raw = self.client.hget(self._tkey(tenant, "finished"), message_id)
        return None if raw is None else decode(Message, raw)

    def get_messages(self, wanted: Sequence[tuple[str, str]]) -> list[Message | None]:
        if not wanted:
            return []

        def reads(pipe: Any) -> None:
            for tenant, message_id in wanted:  # active first, as in get_message
                pipe.hget(self._tkey(tenant, "active"), message_id)
                pipe.hget(self._tkey(tenant, "finished"), message_id)

        raw = self._writes.send_with(reads)  # held-back writes ride along: one round trip
        found = [active if active is not None else finished
                 for active, finished in zip(raw[::2], raw[1::2], strict=True)]
        return [None if item is None else decode(Message, item) for item in found]

    def active_messages(self, tenant: str) -> Iterable[Message]:
        return self._ordered(tenant, "active", Message)

    def pop_due(self, now_ms: int, limit: int) -> list[Message]:
        keys = [self._key("due"), self._key("claims"), self._key("instances")]
        args = [now_ms, limit, self.lease.instance, self.prefix]
        [raw] = self._writes.send_with(lambda pipe: pipe.eval(lua.POP_DUE, 3, *keys, *args))
        return [self._pending(decode(Message, item)) for item in raw]

    def release(self, tenant: str, message_id: str, now_ms: int) -> None:
        self._release_one(keys=[self._key("due"), self._key("claims")],
                          args=[self.lease.instance, now_ms, self._member(tenant, message_id)])

    def _pending(self, message: Message) -> Message:
        """A claimed message; one left ACTIVE by a dead instance is made pending again."""
        if message.state in PENDING:
            return message
        restored = replace(message, state=State.RETRY if message.retried else State.CREATED)
        self.client.hset(self._tkey(message.tenant, "active"), message.message_id,
                         encode(restored))
        return restored

    def next_due_ms(self) -> int | None:
        first = self.client.zrange(self._key("due"), 0, 0, withscores=True)
        return int(first[0][1]) if first else None

    def claim_dedup(
        self, tenant: str, key: str, message_id: str, now_ms: int, window_ms: int
    ) -> str | None:
        held = self._claim_dedup(
            keys=[self._tkey(tenant, f"dedup:{key}")],
            args=[message_id, now_ms, now_ms + window_ms, max(window_ms, 1) * 6],
        )
        return text(held) if held else None

    # logs, DLQ, deliveries, keys
    def next_seq(self) -> int:
        """Unique across instances; taken from Redis in blocks of `SEQ_BLOCK` (one round trip
        per block), so numbers increase within one instance and only roughly across them."""
        seq = next(self._seqs, None)
        if seq is None:  # order against other writes does not matter: the raw client
            end = int(self._raw.incrby(self._key("seq"), SEQ_BLOCK))
            self._seqs = iter(range(end - SEQ_BLOCK + 1, end + 1))
            seq = next(self._seqs)
        return seq

    def append_log(self, tenant: str, event: LogEvent) -> None:
        self._writes.increment(self._tkey(tenant, "counts"), event.state.value)
        self._append(self._tkey(tenant, "logs"), encode(event), self._max_logs)

    def logs(self, tenant: str) -> Sequence[LogEvent]:
        return [decode(LogEvent, raw) for raw in self.client.lrange(self._tkey(tenant, "logs"),
                                                                    0, -1)]

    def put_dlq(self, tenant: str, entry: DlqEntry) -> None:
        self._put(tenant, "dlq", entry.dlq_id, entry)

    def get_dlq(self, tenant: str, dlq_id: str) -> DlqEntry | None:
        return self._get(tenant, "dlq", dlq_id, DlqEntry)

    def delete_dlq(self, tenant: str, dlq_id: str) -> bool:
        return self._delete(tenant, "dlq", dlq_id)

    def dlq(self, tenant: str) -> Sequence[DlqEntry]:
        return self._ordered(tenant, "dlq", DlqEntry)

    def get_keys(self, tenant: str) -> SigningKeys | None:
        raw = self.client.get(self._tkey(tenant, "keys"))
        return None if raw is None else decode(SigningKeys, raw)

    def set_keys(self, tenant: str, keys: SigningKeys) -> None:
        self.client.set(self._tkey(tenant, "keys"), encode(keys))

    def append_delivery(self, record: DeliveryRecord) -> None:
        self._append(self._tkey(record.tenant, "deliveries"), encode(record),
                     self._max_deliveries)

    def deliveries(self, tenant: str) -> Sequence[DeliveryRecord]:
        raw = self.client.lrange(self._tkey(tenant, "deliveries"), 0, -1)
        return [decode(DeliveryRecord, item) for item in raw]

    def delivery_tenants(self) -> list[str]:
        start = len(self.prefix) + 3  # after "P:t:"
        pattern = f"{glob_escape(self.prefix)}:t:*:deliveries"
        segments = {text(key)[start:-len(":deliveries")]
                    for key in self.client.scan_iter(match=pattern, count=1000)}
        return sorted(tenant_of_segment(segment) for segment in segments)

    # newest-first reads and counters (the dashboard)
    def message_counts(self, tenant: str) -> MessageCounts:
        pipe = self.client.pipeline(transaction=False)
        pipe.hlen(self._tkey(tenant, "active"))
        pipe.hlen(self._tkey(tenant, "dlq"))
        pipe.hgetall(self._tkey(tenant, "counts"))
        unfinished, dlq, events = pipe.execute()
        return MessageCounts(int(unfinished), int(dlq),
                             {text(state): int(count) for state, count in events.items()})

    def message_page(self, tenant: str, finished: bool, start: int, count: int
                     ) -> list[Message]:
        kind = "finished" if finished else "active"
        ids = self.client.zrevrange(self._tkey(tenant, f"{kind}:order"), start,
                                    start + count - 1)
        if not ids:
            return []
        raw = self.client.hmget(self._tkey(tenant, kind), ids)
        return [decode(Message, item) for item in raw if item is not None]

    def log_page(self, tenant: str, start: int, count: int) -> list[LogEvent]:
        raw = self.client.lrange(self._tkey(tenant, "logs"), -(start + count), -(start + 1))
        return [decode(LogEvent, item) for item in reversed(raw)]

    # schedules and URL groups
    def put_schedule(self, schedule: Schedule) -> None:
        self.client.sadd(self._key("schedule-tenants"), schedule.tenant)
        self._put(schedule.tenant, "schedules", schedule.schedule_id, schedule)

    def get_schedule(self, tenant: str, schedule_id: str) -> Schedule | None:
        return self._get(tenant, "schedules", schedule_id, Schedule)

    def delete_schedule(self, tenant: str, schedule_id: str) -> bool:
        return self._delete(tenant, "schedules", schedule_id)

    def schedules(self, tenant: str) -> Sequence[Schedule]:
        return self._ordered(tenant, "schedules", Schedule)

    def all_schedules(self) -> Iterable[Schedule]:
        tenants = self.client.smembers(self._key("schedule-tenants"))
        return [s for raw in sorted(tenants) for s in self.schedules(text(raw))]

    def put_url_group(self, group: UrlGroup) -> None:
        self._put(group.tenant, "url-groups", group.name, group)

    def get_url_group(self, tenant: str, name: str) -> UrlGroup | None:
        return self._get(tenant, "url-groups", name, UrlGroup)

    def delete_url_group(self, tenant: str, name: str) -> bool:
        return self._delete(tenant, "url-groups", name)

    def url_groups(self, tenant: str) -> Sequence[UrlGroup]:
        return self._ordered(tenant, "url-groups", UrlGroup)

    # gates (queues, flow-control keys), their wait lists and wake times
    def get_gate(self, tenant: str, kind: str, name: str) -> Gate | None:
        return self._get(tenant, f"gates:{kind}", name, Gate)

    def put_gate(self, tenant: str, gate: Gate) -> None:
        self._put(tenant, f"gates:{gate.kind.value}", gate.name, gate)
        if gate.wake_at_ms is not None:
            member = "\n".join((tenant, gate.kind.value, gate.name))
            self.client.zadd(self._key("gate-wakes"), {member: gate.wake_at_ms})

    def delete_gate(self, tenant: str, kind: str, name: str) -> None:
        self._delete(tenant, f"gates:{kind}", name)
        self.client.delete(self._wait_key(tenant, kind, name))

    def gates(self, tenant: str, kind: str) -> Sequence[Gate]:
        return self._ordered(tenant, f"gates:{kind}", Gate)

    def _wait_key(self, tenant: str, kind: str, name: str) -> str:
        return self._tkey(tenant, f"wait:{kind}:{name}")

    def push_waiting(self, tenant: str, kind: str, name: str, message_id: str) -> None:
        self.client.rpush(self._wait_key(tenant, kind, name), message_id)

    def pop_waiting(self, tenant: str, kind: str, name: str) -> str | None:
        raw: Any = self.client.lpop(self._wait_key(tenant, kind, name))
        return None if raw is None else text(raw)

    def waiting(self, tenant: str, kind: str, name: str) -> Sequence[str]:
        return [text(raw) for raw in self.client.lrange(self._wait_key(tenant, kind, name), 0, -1)]

    def _live_wake(self, member: str, score: float) -> bool:
        tenant, kind, name = member.split("\n", 2)
        gate = self.get_gate(tenant, kind, name)
        return gate is not None and gate.wake_at_ms == int(score)

    def pop_gate_wakes(self, now_ms: int) -> list[tuple[str, str, str]]:
        key = self._key("gate-wakes")
        entries: Any = self.client.zrangebyscore(key, "-inf", now_ms, withscores=True)
        if not entries:
            return []
        self.client.zrem(key, *(member for member, _ in entries))
        woken = [text(m) for m, score in entries if self._live_wake(text(m), score)]
        return [tuple(m.split("\n", 2)) for m in dict.fromkeys(woken)]  # type: ignore[misc]

    def next_gate_wake_ms(self) -> int | None:
        key = self._key("gate-wakes")
        while True:
            entries: Any = self.client.zrange(key, 0, 0, withscores=True)
            if not entries:
                return None
            member, score = text(entries[0][0]), float(entries[0][1])
            if self._live_wake(member, score):
                return int(score)
            self.client.zrem(key, member)

    @contextmanager
    def gate_lock(self) -> Iterator[None]:
        """One lock per prefix, so gate limits hold across instances (re-entrant per store)."""
        if self._gate_lock_depth:
            self._gate_lock_depth += 1
            try:
                yield
            finally:
                self._gate_lock_depth -= 1
            return
        lock = self.client.lock(self._key("gate-lock"), timeout=10, blocking_timeout=10)
        if not lock.acquire():
            raise RuntimeError("could not take the gate lock in Redis within 10 s")
        self._gate_lock_depth = 1
        try:
            yield
        finally:
            self._gate_lock_depth = 0
            self._writes.flush()  # what was written under the lock lands before it is let go
            lock.release()

    # quotas: settings per tenant and usage counters per window
    def quota_settings(self, tenant: str) -> QuotaSettings | None:
        raw = self.client.get(self._tkey(tenant, "quota-settings"))
        return None if raw is None else decode(QuotaSettings, raw)

    def put_quota_settings(self, tenant: str, settings: QuotaSettings) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.set(self._tkey(tenant, "quota-settings"), encode(settings))
        pipe.sadd(self._key("quota-tenants"), tenant)
        pipe.execute()

    def quota_tenants(self) -> list[str]:
        return sorted(text(raw) for raw in self.client.smembers(self._key("quota-tenants")))

    def _usage_key(self, tenant: str, window: str, key: int) -> str:
        return self._tkey(tenant, f"usage:{window}:{key}")

    def usage(self, tenant: str, window: str, key: int) -> Usage:
        raw: Any = self.client.hmget(self._usage_key(tenant, window, key), "used", "exhausted")
        return Usage(int(raw[0] or 0), raw[1] is not None)

    def add_usage(self, tenant: str, window: str, key: int, count: int) -> int:
        name = self._usage_key(tenant, window, key)
        pipe = self.client.pipeline(transaction=False)
        pipe.hincrby(name, "used", count)
        pipe.expire(name, USAGE_TTL_S.get(window, USAGE_TTL_S["daily"]))
        pipe.sadd(self._key("quota-tenants"), tenant)
        used: Any = pipe.execute()[0]
        return int(used)

    def charge_usage(self, tenant: str, windows: Sequence[tuple[str, int]], count: int) -> None:
        for window, key in windows:
            ttl_s = USAGE_TTL_S.get(window, USAGE_TTL_S["daily"])
            self._writes.charge(self._usage_key(tenant, window, key), count, ttl_s, tenant)
        self._send_unless_deferred()

    def mark_exhausted(self, tenant: str, window: str, key: int, used: int) -> None:
        name = self._usage_key(tenant, window, key)
        current = self.usage(tenant, window, key).used
        self.client.hset(name, mapping={"used": max(used, current), "exhausted": 1})
        self.client.sadd(self._key("quota-tenants"), tenant)

    def clear_usage(self, tenant: str | None) -> None:
        segment = "*" if tenant is None else glob_escape(tenant_segment(tenant))
        self._delete_matching(f"{glob_escape(self.prefix)}:t:{segment}:usage:*")

    def forget_quota(self, tenant: str | None) -> None:
        self.clear_usage(tenant)
        if tenant is None:
            self._delete_matching(f"{glob_escape(self.prefix)}:t:*:quota-settings")
            self.client.delete(self._key("quota-tenants"))
        else:
            self.client.delete(self._tkey(tenant, "quota-settings"))
            self.client.srem(self._key("quota-tenants"), tenant)

    # emulator-wide values
    def get_meta(self, name: str) -> str | None:
        raw = self.client.hget(self._key("meta"), name)
        return None if raw is None else text(raw)

    def set_meta(self, name: str, value: str) -> None:
        self.client.hset(self._key("meta"), name, value)

    def reset(self, tenant: str | None) -> None:
        due, claims = self._key("due"), self._key("claims")
        if tenant is None:
            self._delete_matching(f"{glob_escape(self.prefix)}:t:*")
            self.client.delete(due, claims, self._key("schedule-tenants"), self._key("gate-wakes"))
            return
        self.client.srem(self._key("schedule-tenants"), tenant)
        ids = self.client.hkeys(self._tkey(tenant, "active"))
        members = [self._member(tenant, text(raw)) for raw in ids]
        if members:
            pipe = self.client.pipeline(transaction=False)
            pipe.zrem(due, *members)
            pipe.hdel(claims, *members)
            pipe.execute()
        self._delete_matching(glob_escape(self._tkey(tenant, "")) + "*")

    def close(self) -> None:
        """Stop renewing the lease and give unfinished claims back to the due index."""
        if self.closed:
            return
        self.closed = True
        self.lease.stop()
        self._release(
            keys=[self._key("due"), self._key("claims"), self._key("instances"), self.lease.key],
            args=[self.lease.instance, 0],
        )
        self._raw.close()

    # helpers for per-tenant entities: insertion-ordered hashes of JSON, bounded lists
    def _put(self, tenant: str, kind: str, item_id: str, value: object) -> None:
        self._put_ordered(
            keys=[self._tkey(tenant, kind), self._tkey(tenant, f"{kind}:order"),
                  self._key("order")],
            args=[item_id, encode(value)],
        )

    def _get(self, tenant: str, kind: str, item_id: str, cls: type[T]) -> T | None:
        raw = self.client.hget(self._tkey(tenant, kind), item_id)
        return None if raw is None else decode(cls, raw)

    def _delete(self, tenant: str, kind: str, item_id: str) -> bool:
        keys = [self._tkey(tenant, kind), self._tkey(tenant, f"{kind}:order")]
        return bool(self._delete_ordered(keys=keys, args=[item_id]))

    def _ordered(self, tenant: str, kind: str, cls: type[T]) -> list[T]:
        keys = [self._tkey(tenant, kind), self._tkey(tenant, f"{kind}:order")]
        return [decode(cls, raw) for raw in self._list_ordered(keys=keys)]

    def _append(self, key: str, value: bytes, limit: int) -> None:
        self._writes.append(key, value, limit)
        self._send_unless_deferred()

    def _delete_matching(self, pattern: str) -> None:
        batch: list[bytes] = []
        for key in self.client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 500:
                self.client.delete(*batch)
                batch.clear()
        if batch:
            self.client.delete(*batch)
