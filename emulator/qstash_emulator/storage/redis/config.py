"""Configuration in Redis: schedules, URL groups and signing keys; emulator-wide values."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ...core.model import SigningKeys
from ...core.schedules.model import Schedule
from ...core.url_groups.model import UrlGroup
from .base import RedisBase, text
from .codec import decode, encode


class RedisConfig:
    """`P:t:T:schedules` and `P:t:T:url-groups` (ordered hashes), `P:schedule-tenants` (who has
    schedules), `P:t:T:keys` (JSON) and `P:meta` (a hash that reset leaves alone)."""

    def __init__(self, base: RedisBase) -> None:
        self._base = base

    def put_schedule(self, schedule: Schedule) -> None:
        self._base.client.sadd(self._base.key("schedule-tenants"), schedule.tenant)
        self._base.put_ordered(self._base.tkey(schedule.tenant, "schedules"),
                               schedule.schedule_id, schedule)

    def get_schedule(self, tenant: str, schedule_id: str) -> Schedule | None:
        return self._base.get_ordered(self._base.tkey(tenant, "schedules"), schedule_id,
                                      Schedule)

    def delete_schedule(self, tenant: str, schedule_id: str) -> bool:
        return self._base.delete_ordered(self._base.tkey(tenant, "schedules"), schedule_id)

    def schedules(self, tenant: str) -> Sequence[Schedule]:
        return self._base.list_ordered(self._base.tkey(tenant, "schedules"), Schedule)

    def all_schedules(self) -> Iterable[Schedule]:
        tenants = self._base.client.smembers(self._base.key("schedule-tenants"))
        return [s for raw in sorted(tenants) for s in self.schedules(text(raw))]

    def put_url_group(self, group: UrlGroup) -> None:
        self._base.put_ordered(self._base.tkey(group.tenant, "url-groups"), group.name, group)

    def get_url_group(self, tenant: str, name: str) -> UrlGroup | None:
        return self._base.get_ordered(self._base.tkey(tenant, "url-groups"), name, UrlGroup)

    def delete_url_group(self, tenant: str, name: str) -> bool:
        return self._base.delete_ordered(self._base.tkey(tenant, "url-groups"), name)

    def url_groups(self, tenant: str) -> Sequence[UrlGroup]:
        return self._base.list_ordered(self._base.tkey(tenant, "url-groups"), UrlGroup)

    def get_keys(self, tenant: str) -> SigningKeys | None:
        raw = self._base.client.get(self._base.tkey(tenant, "keys"))
        return None if raw is None else decode(SigningKeys, raw)

    def set_keys(self, tenant: str, keys: SigningKeys) -> None:
        self._base.client.set(self._base.tkey(tenant, "keys"), encode(keys))

    def get_meta(self, name: str) -> str | None:
        raw = self._base.client.hget(self._base.key("meta"), name)
        return None if raw is None else text(raw)

    def set_meta(self, name: str, value: str) -> None:
        self._base.client.hset(self._base.key("meta"), name, value)

    def reset(self, tenant: str | None) -> None:
        """Forget who has schedules (the schedules themselves go with the tenant's keys)."""
        if tenant is None:
            self._base.client.delete(self._base.key("schedule-tenants"))
        else:
            self._base.client.srem(self._base.key("schedule-tenants"), tenant)
