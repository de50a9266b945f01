"""Usage in Redis: quota settings per tenant and usage counters that expire with their window."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...core.model import QuotaSettings, Usage
from .base import RedisBase, glob_escape, tenant_segment, text
from .codec import decode, encode

# wall-clock lifetimes of usage counters (a window's key changes when it is over)
USAGE_TTL_S = {"burst": 120, "daily": 3 * 86_400, "monthly": 63 * 86_400}


class RedisUsage:
    """`P:t:T:quota-settings` (JSON), `P:t:T:usage:<window>:<key>` (hash: used, exhausted)
    and `P:quota-tenants` (a set of tenant names)."""

    def __init__(self, base: RedisBase) -> None:
        self._base = base

    def quota_settings(self, tenant: str) -> QuotaSettings | None:
        raw = self._base.client.get(self._base.tkey(tenant, "quota-settings"))
        return None if raw is None else decode(QuotaSettings, raw)

    def put_quota_settings(self, tenant: str, settings: QuotaSettings) -> None:
        pipe = self._base.client.pipeline(transaction=False)
        pipe.set(self._base.tkey(tenant, "quota-settings"), encode(settings))
        pipe.sadd(self._base.key("quota-tenants"), tenant)
        pipe.execute()

    def quota_tenants(self) -> list[str]:
        members = self._base.client.smembers(self._base.key("quota-tenants"))
        return sorted(text(raw) for raw in members)

    def _usage_key(self, tenant: str, window: str, key: int) -> str:
        return self._base.tkey(tenant, f"usage:{window}:{key}")

    def usage(self, tenant: str, window: str, key: int) -> Usage:
        name = self._usage_key(tenant, window, key)
        raw: Any = self._base.client.hmget(name, "used", "exhausted")
        return Usage(int(raw[0] or 0), raw[1] is not None)

    def add_usage(self, tenant: str, window: str, key: int, count: int) -> int:
        name = self._usage_key(tenant, window, key)
        pipe = self._base.client.pipeline(transaction=False)
        pipe.hincrby(name, "used", count)
        pipe.expire(name, USAGE_TTL_S.get(window, USAGE_TTL_S["daily"]))
        pipe.sadd(self._base.key("quota-tenants"), tenant)
        used: Any = pipe.execute()[0]
        return int(used)

    def charge_usage(self, tenant: str, windows: Sequence[tuple[str, int]], count: int) -> None:
        for window, key in windows:
            ttl_s = USAGE_TTL_S.get(window, USAGE_TTL_S["daily"])
            self._base.writes.charge(self._usage_key(tenant, window, key), count, ttl_s, tenant)
        self._base.send_unless_deferred()

    def mark_exhausted(self, tenant: str, window: str, key: int, used: int) -> None:
        name = self._usage_key(tenant, window, key)
        current = self.usage(tenant, window, key).used
        self._base.client.hset(name, mapping={"used": max(used, current), "exhausted": 1})
        self._base.client.sadd(self._base.key("quota-tenants"), tenant)

    def clear_usage(self, tenant: str | None) -> None:
        segment = "*" if tenant is None else glob_escape(tenant_segment(tenant))
        self._base.delete_matching(f"{glob_escape(self._base.prefix)}:t:{segment}:usage:*")

    def forget_quota(self, tenant: str | None) -> None:
        self.clear_usage(tenant)
        client = self._base.client
        if tenant is None:
            pattern = f"{glob_escape(self._base.prefix)}:t:*:quota-settings"
            self._base.delete_matching(pattern)
            client.delete(self._base.key("quota-tenants"))
        else:
            client.delete(self._base.tkey(tenant, "quota-settings"))
            client.srem(self._base.key("quota-tenants"), tenant)

    def reset(self, tenant: str | None) -> None:
        """Forget the tenant's place among the known tenants (its keys go with the rest)."""
        if tenant is None:
            self._base.client.delete(self._base.key("quota-tenants"))
        else:
            self._base.client.srem(self._base.key("quota-tenants"), tenant)
