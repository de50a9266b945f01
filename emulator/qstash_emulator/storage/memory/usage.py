"""Usage in this process: quota settings per tenant and usage counters per window."""

from __future__ import annotations

from collections.abc import Sequence

from ...core.model import QuotaSettings, Usage


class MemoryUsage:
    """Quota settings per tenant and usage counters per window, in this process."""

    def __init__(self) -> None:
        self._quota_settings: dict[str, QuotaSettings] = {}
        self._usage: dict[tuple[str, str], tuple[int, Usage]] = {}
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
        found = self._usage.get((tenant, window))
        return found[1] if found is not None and found[0] == key else Usage()

    def add_usage(self, tenant: str, window: str, key: int, count: int) -> int:
        current = self.usage(tenant, window, key)
        self._usage[(tenant, window)] = (key, Usage(current.used + count, current.exhausted))
        self._quota_tenants.add(tenant)
        return current.used + count

    def charge_usage(self, tenant: str, windows: Sequence[tuple[str, int]], count: int) -> None:
        for window, key in windows:
            self.add_usage(tenant, window, key, count)

    def mark_exhausted(self, tenant: str, window: str, key: int, used: int) -> None:
        current = self.usage(tenant, window, key)
        self._usage[(tenant, window)] = (key, Usage(max(used, current.used), True))
        self._quota_tenants.add(tenant)

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
