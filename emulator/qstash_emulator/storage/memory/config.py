"""Configuration in this process: schedules, URL groups and signing keys; emulator-wide values."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ...core.model import SigningKeys
from ...core.schedules.model import Schedule
from ...core.url_groups.model import UrlGroup


class MemoryConfig:
    """Values replaced whole, per tenant (dicts keep insertion order); meta survives reset."""

    def __init__(self) -> None:
        self._schedules: dict[str, dict[str, Schedule]] = {}
        self._url_groups: dict[str, dict[str, UrlGroup]] = {}
        self._keys: dict[str, SigningKeys] = {}
        self._meta: dict[str, str] = {}

    def put_schedule(self, schedule: Schedule) -> None:
        self._schedules.setdefault(schedule.tenant, {})[schedule.schedule_id] = schedule

    def get_schedule(self, tenant: str, schedule_id: str) -> Schedule | None:
        return self._schedules.get(tenant, {}).get(schedule_id)

    def delete_schedule(self, tenant: str, schedule_id: str) -> bool:
        return self._schedules.get(tenant, {}).pop(schedule_id, None) is not None

    def schedules(self, tenant: str) -> Sequence[Schedule]:
        return list(self._schedules.get(tenant, {}).values())

    def all_schedules(self) -> Iterable[Schedule]:
        return [s for held in self._schedules.values() for s in held.values()]

    def put_url_group(self, group: UrlGroup) -> None:
        self._url_groups.setdefault(group.tenant, {})[group.name] = group

    def get_url_group(self, tenant: str, name: str) -> UrlGroup | None:
        return self._url_groups.get(tenant, {}).get(name)

    def delete_url_group(self, tenant: str, name: str) -> bool:
        return self._url_groups.get(tenant, {}).pop(name, None) is not None

    def url_groups(self, tenant: str) -> Sequence[UrlGroup]:
        return list(self._url_groups.get(tenant, {}).values())

    def get_keys(self, tenant: str) -> SigningKeys | None:
        return self._keys.get(tenant)

    def set_keys(self, tenant: str, keys: SigningKeys) -> None:
        self._keys[tenant] = keys

    def get_meta(self, name: str) -> str | None:
        return self._meta.get(name)

    def set_meta(self, name: str, value: str) -> None:
        self._meta[name] = value

    def reset(self, tenant: str | None) -> None:
        if tenant is None:
            self._schedules.clear()
            self._url_groups.clear()
            self._keys.clear()
            return
        self._schedules.pop(tenant, None)
        self._url_groups.pop(tenant, None)
        self._keys.pop(tenant, None)
