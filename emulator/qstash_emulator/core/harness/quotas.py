"""The per-tenant message quotas (daily, monthly) and the burst limit.

Windows follow the emulator's clock: the daily window resets at midnight UTC, the monthly one
on the 1st at midnight UTC, the burst window every second. `check` decides, `charge` counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache

from .. import protocol as p
from ..errors import BadRequest, BurstLimited, QuotaExceeded
from ..model import Usage
from ..plans import Plan, Plans
from ..ports import Clock, UsageStore
from ..recent import RecentReads

DAY_MS = 86_400_000


SETTINGS_CACHE_S = 1.0
# Publishing is exempt from the burst limit (current rate-limit docs); the rest of /v2/ is not.
BURST_EXEMPT = ("/v2/publish/", "/v2/enqueue/", "/v2/batch")


def burst_limited(path: str) -> bool:
    """Whether a `/v2/` request path counts against the burst limit."""
    return not path.startswith(BURST_EXEMPT)


class Window(StrEnum):
    DAILY = "daily"
    MONTHLY = "monthly"
    BURST = "burst"


DAILY, MONTHLY = Window.DAILY.value, Window.MONTHLY.value


def window_key(window: Window, now_ms: int) -> int:
    """Which window `now_ms` falls in (a day number, a month number or a second)."""
    if window is Window.BURST:
        return now_ms // 1000
    if window is Window.DAILY:
        return now_ms // DAY_MS
    return _month_of_day(now_ms // DAY_MS)


@lru_cache(maxsize=64)
def _month_of_day(day: int) -> int:
    moment = datetime.fromtimestamp(day * DAY_MS / 1000, UTC)
    return moment.year * 12 + moment.month - 1


def window_reset_s(window: Window, now_ms: int) -> int:
    """Unix seconds at which the window holding `now_ms` ends."""
    key = window_key(window, now_ms)
    if window is Window.BURST:
        return key + 1
    if window is Window.DAILY:
        return (key + 1) * DAY_MS // 1000
    year, month = divmod(key + 1, 12)
    return int(datetime(year, month + 1, 1, tzinfo=UTC).timestamp())


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer of a check: allowed, or which window is exceeded and when it resets."""

    allowed: bool
    window: Window | None = None
    limit: int | None = None
    remaining: int | None = None
    reset_s: int | None = None

    def headers(self) -> dict[str, str]:
        """The 429 (or success) headers for this verdict; none when no limit applies."""
        if self.window is None or self.limit is None:
            return {}
        names = (p.BURST_LIMIT, p.BURST_REMAINING, p.BURST_RESET) if (
            self.window is Window.BURST) else (p.RATELIMIT_LIMIT, p.RATELIMIT_REMAINING,
                                                p.RATELIMIT_RESET)
        values = (self.limit, self.remaining, self.reset_s)
        return {name: str(value) for name, value in zip(names, values, strict=True)}


@dataclass(frozen=True, slots=True)
class WindowStatus:
    window: Window
    limit: int | None
    used: int
    remaining: int | None
    reset_s: int


@dataclass(frozen=True, slots=True)
class QuotaReport:
    """A tenant's plan, its windows now and every limit that applies to it."""

    plan: str
    windows: tuple[WindowStatus, ...]
    limits: dict[str, int | None]


def parse_window(raw: object) -> Window:
    """A window `exhaust` accepts: `daily` or `monthly` (400 otherwise)."""
    if raw not in (Window.DAILY.value, Window.MONTHLY.value):
        raise BadRequest('invalid body: want {"window": "daily"} or {"window": "monthly"}')
    return Window(str(raw))


MESSAGE_WINDOWS = ("daily", "monthly")
NO_LIMITS = (None, None)
ALLOWED = Verdict(True)


class Quotas:
    """Per-tenant message windows and the burst limit, with limits looked up in `plans`.

    >>> quotas = Quotas(clock, plans, book)  # doctest: +SKIP
    >>> quotas.check("t", 1).allowed  # doctest: +SKIP
    True
    """

    def __init__(self, clock: Clock, plans: Plans, book: UsageStore) -> None:
        self.clock = clock
        self.plans = plans
        self.book = book
        # read at most once per SETTINGS_CACHE_S, like the plan settings
        self._exhausted_read: RecentReads[bool] = RecentReads(clock.wall, SETTINGS_CACHE_S)

    def plan(self, tenant: str) -> Plan:
        return self.plans.plan(tenant)

    def limit(self, tenant: str, name: str) -> int | None:
        return self.plans.limit(tenant, name)

    # --- checking and counting ------------------------------------------------------------

    def check(self, tenant: str, count: int = 1, now_ms: int | None = None) -> Verdict:
        """Would `count` more messages fit in both windows? (Nothing is counted.)"""
        now = self._now(now_ms)
        limits = self.plans.limits_of(tenant, MESSAGE_WINDOWS)
        if limits == NO_LIMITS and not self._any_exhausted(tenant, now):
            return ALLOWED
        verdict = ALLOWED
        for window, limit in zip((Window.DAILY, Window.MONTHLY), limits, strict=True):
            if limit is None and not self._exhausted_flag(tenant, window, now):
                continue
            status = self.status(tenant, window, now)
            current = _verdict(status)
            if status.remaining is not None and count > status.remaining:
                return Verdict(False, window, current.limit, current.remaining, current.reset_s)
            if verdict.window is None:
                verdict = current
        return verdict

    def require(self, tenant: str, count: int = 1) -> Verdict:
        """`check`, raising QuotaExceeded (with the RateLimit-* headers) when it does not fit."""
        verdict = self.check(tenant, count)
        if not verdict.allowed:
            text = (p.DAILY_LIMIT_EXCEEDED if verdict.window is Window.DAILY
                    else p.MONTHLY_LIMIT_EXCEEDED)
            raise QuotaExceeded(text.format(limit=verdict.limit, reset=verdict.reset_s),
                                verdict.headers())
        return verdict

    def charge(self, tenant: str, count: int = 1, now_ms: int | None = None) -> None:
        """Count `count` new messages (fan-out: one per endpoint; one per schedule trigger)."""
        day = self._now(now_ms) // DAY_MS
        self.book.charge_usage(tenant, ((DAILY, day), (MONTHLY, _month_of_day(day))), count)

    def headers(self, tenant: str) -> dict[str, str]:
        """`RateLimit-*` headers for a successful publish (empty when no limit is set)."""
        return self.check(tenant, 0).headers()

    def hit_burst(self, tenant: str, now_ms: int | None = None) -> None:
        """Count one burst-limited request; raise BurstLimited when the second is full."""
        now = self._now(now_ms)
        limit = self.limit(tenant, "burst")
        if limit is None:
            return
        used = self.book.add_usage(tenant, Window.BURST.value,
                                   window_key(Window.BURST, now), 1)
        if used > limit:
            verdict = Verdict(False, Window.BURST, limit, 0, window_reset_s(Window.BURST, now))
            raise BurstLimited(p.BURST_LIMIT_EXCEEDED.format(limit=limit), verdict.headers())

    def exhaust(self, tenant: str, window: Window) -> None:
        """Use up `window` now: the next message is refused until the window resets."""
        now = self._now(None)
        limit = self.limit(tenant, window.value)
        used = self._usage(tenant, window, now).used
        self.book.mark_exhausted(tenant, window.value, window_key(window, now),
                                 used if limit is None else max(used, limit))
        self._exhausted_read.forget(tenant)

    def reset(self, tenant: str | None) -> None:
        """Forget usage (every tenant with None); limits set for the tenant stay."""
        self.book.clear_usage(tenant)
        self._exhausted_read.forget(tenant)

    def forget(self, tenant: str | None) -> None:
        """Forget usage and every setting of a tenant (all tenants with None)."""
        self.book.forget_quota(tenant)
        self._exhausted_read.forget(tenant)
        self.plans.forget(tenant)

    def report(self, tenant: str) -> QuotaReport:
        now = self._now(None)
        windows = tuple(self.status(tenant, window, now) for window in Window)
        return QuotaReport(self.plan(tenant).name, windows, self.plans.limits(tenant))

    def tenants(self) -> list[str]:
        return self.book.quota_tenants()

    def status(self, tenant: str, window: Window, now_ms: int | None = None) -> WindowStatus:
        now = self._now(now_ms)
        usage = self._usage(tenant, window, now)
        limit = self.limit(tenant, window.value)
        if usage.exhausted and limit is None:
            limit = usage.used
        remaining = None if limit is None else max(0, limit - usage.used)
        if usage.exhausted:
            remaining = 0
        return WindowStatus(window, limit, usage.used, remaining, window_reset_s(window, now))

    # --- internals ------------------------------------------------------------------------

    def _now(self, now_ms: int | None) -> int:
        return self.clock.now_ms() if now_ms is None else now_ms

    def _any_exhausted(self, tenant: str, now_ms: int) -> bool:
        """Whether either message window was used up by `exhaust` (one cached read for both,
        the common case of a tenant without limits)."""
        key = (tenant, "either", now_ms // DAY_MS)  # the day names its month too
        return self._exhausted_read.get(key, lambda: any(
            self._usage(tenant, window, now_ms).exhausted
            for window in (Window.DAILY, Window.MONTHLY)))

    def _exhausted_flag(self, tenant: str, window: Window, now_ms: int) -> bool:
        """Whether `window` was used up by `exhaust`, for a window without a limit (so that
        counts do not matter): read at most once per SETTINGS_CACHE_S, like the settings."""
        key = (tenant, window, window_key(window, now_ms))
        return self._exhausted_read.get(key, lambda: self._usage(tenant, window, now_ms).exhausted)

    def _usage(self, tenant: str, window: Window, now_ms: int) -> Usage:
        return self.book.usage(tenant, window.value, window_key(window, now_ms))


def _verdict(status: WindowStatus) -> Verdict:
    return Verdict(True, status.window, status.limit, status.remaining, status.reset_s)
