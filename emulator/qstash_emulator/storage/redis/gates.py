"""Gates in Redis: queues and flow-control keys, their wait lists and wakes, one lock."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ...core.gating.rules import Gate
from .base import RedisBase, text

LOCK_TIMEOUT_S = 10


class RedisGates:
    """`P:t:T:gates:<kind>` (an ordered hash of gates), `P:t:T:wait:<kind>:<name>` (a list of
    message ids), `P:gate-wakes` (zset "T\\n<kind>\\n<name>" scored by wake ms) and the lock
    `P:gate-lock` that makes gate limits hold across instances."""

    def __init__(self, base: RedisBase) -> None:
        self._base = base
        self._lock_depth = 0

    def _hash(self, tenant: str, kind: str) -> str:
        return self._base.tkey(tenant, f"gates:{kind}")

    def _wait_key(self, tenant: str, kind: str, name: str) -> str:
        return self._base.tkey(tenant, f"wait:{kind}:{name}")

    def get_gate(self, tenant: str, kind: str, name: str) -> Gate | None:
        return self._base.get_ordered(self._hash(tenant, kind), name, Gate)

    def put_gate(self, tenant: str, gate: Gate) -> None:
        self._base.put_ordered(self._hash(tenant, gate.kind.value), gate.name, gate)
        if gate.wake_at_ms is not None:
            member = "\n".join((tenant, gate.kind.value, gate.name))
            self._base.client.zadd(self._base.key("gate-wakes"), {member: gate.wake_at_ms})

    def delete_gate(self, tenant: str, kind: str, name: str) -> None:
        self._base.delete_ordered(self._hash(tenant, kind), name)
        self._base.client.delete(self._wait_key(tenant, kind, name))

    def gates(self, tenant: str, kind: str) -> Sequence[Gate]:
        return self._base.list_ordered(self._hash(tenant, kind), Gate)

    def push_waiting(self, tenant: str, kind: str, name: str, message_id: str) -> None:
        self._base.client.rpush(self._wait_key(tenant, kind, name), message_id)

    def pop_waiting(self, tenant: str, kind: str, name: str) -> str | None:
        raw: Any = self._base.client.lpop(self._wait_key(tenant, kind, name))
        return None if raw is None else text(raw)

    def waiting(self, tenant: str, kind: str, name: str) -> Sequence[str]:
        raw = self._base.client.lrange(self._wait_key(tenant, kind, name), 0, -1)
        return [text(item) for item in raw]

    def _live_wake(self, member: str, score: float) -> bool:
        tenant, kind, name = member.split("\n", 2)
        gate = self.get_gate(tenant, kind, name)
        return gate is not None and gate.wake_at_ms == int(score)

    def pop_gate_wakes(self, now_ms: int) -> list[tuple[str, str, str]]:
        key, client = self._base.key("gate-wakes"), self._base.client
        entries: Any = client.zrangebyscore(key, "-inf", now_ms, withscores=True)
        if not entries:
            return []
        client.zrem(key, *(member for member, _ in entries))
        woken = [text(m) for m, score in entries if self._live_wake(text(m), score)]
        return [tuple(m.split("\n", 2)) for m in dict.fromkeys(woken)]  # type: ignore[misc]

    def next_gate_wake_ms(self) -> int | None:
        key, client = self._base.key("gate-wakes"), self._base.client
        while True:
            entries: Any = client.zrange(key, 0, 0, withscores=True)
            if not entries:
                return None
            member, score = text(entries[0][0]), float(entries[0][1])
            if self._live_wake(member, score):
                return int(score)
            client.zrem(key, member)

    @contextmanager
    def gate_lock(self) -> Iterator[None]:
        """One lock per prefix, so gate limits hold across instances (re-entrant per store)."""
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        lock = self._base.client.lock(self._base.key("gate-lock"), timeout=LOCK_TIMEOUT_S,
                                      blocking_timeout=LOCK_TIMEOUT_S)
        if not lock.acquire():
            raise RuntimeError(
                f"could not take the gate lock in Redis within {LOCK_TIMEOUT_S} s")
        self._lock_depth = 1
        try:
            yield
        finally:
            self._lock_depth = 0
            self._base.writes.flush()  # what was written under the lock lands before it is let go
            lock.release()

    def reset(self, tenant: str | None) -> None:
        """Forget every wake time (a tenant's gates go with its keys; their wakes, no longer
        live, are dropped when met)."""
        if tenant is None:
            self._base.client.delete(self._base.key("gate-wakes"))
