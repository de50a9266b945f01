"""Usage in this process: quota settings per tenant and usage counters per window."""

from __future__ import annotations

from collections.abc import Sequence

from ...core.model import QuotaSettings, Usage


class MemoryUsage:
    """Quota settings per tenant and usage counters per window, in this process."""

    def __init__(self) -> None:
        self._quota_settings: dict[str, QuotaSettings] = {}
        # (tenant, window) -> (window key, used, exhausted): a counter of the current window
        self._usage: dict[tuple[str, str], tuple[int, int, bool]] = {}
        self._quota_tenants: set[str] = set()

    def quota_settings(self, tenant: str) -> QuotaSettings | None:
        return self._quota_settings.get(tenant)

    def put_quota_settings(self, tenant: str, settings: QuotaSettings) -> None:
        self._quota_settings[tenant] = settings
        self._quota_tenants.add(tenant)

    def quota_tenants(self) -> list[str]:
        """Tenants with settings or usage since they were last forgotten."""
        return sorted(self._quota_tenants)

    def usage(self, tenant: str, window: str, key: int) -> Usage:
        return Usage(*self._current(tenant, window, key))

    def add_usage(self, tenant: str, window: str, key: int, count: int) -> int:
        used, exhausted = self._current(tenant, window, key)
        self._usage[(tenant, window)] = (key, used + count, exhausted)
        self._quota_tenants.add(tenant)
        return used + count

    def charge_usage(self, tenant: str, windows: Sequence[tuple[str, int]], count: int) -> None:
        for window, key in windows:
            self.add_usage(tenant, window, key, count)

    def mark_exhausted(self, tenant: str, window: str, key: int, used: int) -> None:
        current, _ = self._current(tenant, window, key)
        self._usage[(tenant, window)] = (key, max(used, current), True)
        self._quota_tenants.add(tenant)

    def _current(self, tenant: str, window: str, key: int) -> tuple[int, bool]:
        """Used and exhausted in window `key` (nothing yet when the counter is of another)."""
        found = self._usage.get((tenant, window))
        return (found[1], found[2]) if found is not None and found[0] == key else (0, False)

    def clear_usage(self, tenant: str | None) -> None:
        if tenant is None:
            self._usage.clear()
        else:
            for item in [k for k in self._usage if k[0] == tenant]:
                del self._usage[item]

    def forget_quota(self, tenant: str | None) -> None:
        self.clear_usage(tenant)
        if tenant is None:
            self._quota_settings.clear()
            self._quota_tenants.clear()
        else:
            self._quota_settings.pop(tenant, None)
            self._quota_tenants.discard(tenant)

    def reset(self, tenant: str | None) -> None:
        self.forget_quota(tenant)
