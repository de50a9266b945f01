"""Plans as data, and the per-tenant message quotas (daily, monthly) and burst limit.

Windows follow the emulator's clock: the daily window resets at midnight UTC, the monthly one
on the 1st at midnight UTC, the burst window every second. `check` decides, `charge` counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache

from .. import protocol as p
from ..errors import BadRequest, BurstLimited, QuotaExceeded
from ..model import QuotaSettings, Usage
from ..ports import Clock, QuotaBook
from ..recent import RecentReads

DAY_MS = 86_400_000
MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Plan:
    """One plan's limits (None: no limit). Figures from QStash's pricing page."""

    name: str
    daily: int | None = None
    monthly: int | None = None
    burst: int | None = None
    max_body_bytes: int | None = None
    max_delay_s: int | None = None
    max_retries: int | None = None
    max_timeout_s: int | None = None
    queues: int | None = None
    schedules: int | None = None
    parallelism: int | None = None
    url_groups: int | None = None


PLANS: dict[str, Plan] = {
    plan.name: plan
    for plan in (
        Plan("free", daily=1_000, burst=100, max_body_bytes=1 * MB, max_delay_s=7 * 86400,
             max_retries=3, max_timeout_s=15 * 60, queues=10, schedules=10, parallelism=2,
             url_groups=1),
        Plan("payg", max_body_bytes=10 * MB, max_delay_s=365 * 86400, max_retries=5,
             max_timeout_s=2 * 3600, queues=100, schedules=1_000, parallelism=100,
             url_groups=100),
        Plan("fixed-1m", daily=1_000_000, max_body_bytes=50 * MB, max_retries=20,
             parallelism=200),
        Plan("fixed-10m", daily=10_000_000, max_body_bytes=50 * MB, max_retries=20,
             parallelism=1_000),
        Plan("unlimited"),
    )
}
DEFAULT_PLAN = "payg"
SETTINGS_CACHE_S = 1.0
SETTABLE = ("daily", "monthly", "burst")
# Publishing is exempt from the burst limit (current rate-limit docs); the rest of /v2/ is not.
BURST_EXEMPT = ("/v2/publish/", "/v2/enqueue/", "/v2/batch")


def burst_limited(path: str) -> bool:
    """Whether a `/v2/` request path counts against the burst limit."""
    return not path.startswith(BURST_EXEMPT)


class Window(StrEnum):
    DAILY = "daily"
    MONTHLY = "monthly"
    BURST = "burst"


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


class LocalQuotaBook:
    """Quota settings and usage counters in this process (the memory store's part)."""

    def _init_quota_book(self) -> None:
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


@dataclass(frozen=True, slots=True)
class WindowStatus:
    window: Window
    limit: int | None
    used: int
    remaining: int | None
    reset_s: int


class Quotas:
    """Per-tenant limits and usage. Emulator-wide defaults come from the plan and overrides.

    >>> quotas = Quotas(plan="free")
    >>> quotas.check("t", 1, now_ms=0).allowed
    True
    """

    def __init__(
        self,
        clock: Clock | None = None,
        plan: str = DEFAULT_PLAN,
        overrides: Mapping[str, int | None] | None = None,
        book: QuotaBook | None = None,
    ) -> None:
        self.clock = clock
        self.plan_name = plan_named(plan).name
        self.overrides: dict[str, int | None] = dict(overrides or {})
        if book is None:
            local = LocalQuotaBook()
            local._init_quota_book()
            book = local
        self.book: QuotaBook = book
        # read from the book at most once per SETTINGS_CACHE_S: a publish asks for several
        # limits, and another instance's changes show up that soon
        self._settings_read: RecentReads[QuotaSettings | None] = RecentReads(
            self._wall, SETTINGS_CACHE_S)
        self._exhausted_read: RecentReads[bool] = RecentReads(self._wall, SETTINGS_CACHE_S)

    # --- limits ---------------------------------------------------------------------------

    def plan(self, tenant: str) -> Plan:
        state = self._settings(tenant)
        return PLANS[(state.plan if state and state.plan else None) or self.plan_name]

    def limit(self, tenant: str, name: str) -> int | None:
        """A limit of `tenant`: its own setting, else the emulator-wide one, else the plan's."""
        state = self._settings(tenant)
        if state is not None and name in state.overrides:
            return state.overrides[name]
        if name in self.overrides and (state is None or state.plan is None):
            return self.overrides[name]
        return getattr(self.plan(tenant), name)  # type: ignore[no-any-return]

    def configure(self, tenant: str | None, changes: Mapping[str, object]) -> None:
        """Apply `{"plan": ..., "daily": N|None, ...}` to one tenant (None: emulator-wide)."""
        plan, limits = parse_changes(changes)
        if tenant is None:
            if plan is not None:
                self.plan_name = plan
            self.overrides.update(limits)
            return
        state = self.book.quota_settings(tenant) or QuotaSettings()
        self.book.put_quota_settings(tenant, QuotaSettings(
            plan if plan is not None else state.plan, {**state.overrides, **limits}))
        self._settings_read.forget(tenant)

    # --- checking and counting ------------------------------------------------------------

    def check(self, tenant: str, count: int = 1, now_ms: int | None = None) -> Verdict:
        """Would `count` more messages fit in both windows? (Nothing is counted.)"""
        now = self._now(now_ms)
        verdict = Verdict(True)
        for window in (Window.DAILY, Window.MONTHLY):
            if self.limit(tenant, window.value) is None and not (
                self._exhausted_flag(tenant, window, now)
            ):
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
        now = self._now(now_ms)
        windows = [(w.value, window_key(w, now)) for w in (Window.DAILY, Window.MONTHLY)]
        self.book.charge_usage(tenant, windows, count)

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
        self._settings_read.forget(tenant)

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
        if now_ms is not None:
            return now_ms
        return self.clock.now_ms() if self.clock is not None else 0

    def _wall(self) -> float:
        return self.clock.wall() if self.clock is not None else 0.0

    def _settings(self, tenant: str) -> QuotaSettings | None:
        return self._settings_read.get((tenant,), lambda: self.book.quota_settings(tenant))

    def _exhausted_flag(self, tenant: str, window: Window, now_ms: int) -> bool:
        """Whether `window` was used up by `exhaust`, for a window without a limit (so that
        counts do not matter): read at most once per SETTINGS_CACHE_S, like the settings."""
        key = (tenant, window, window_key(window, now_ms))
        return self._exhausted_read.get(key, lambda: self._usage(tenant, window, now_ms).exhausted)

    def _usage(self, tenant: str, window: Window, now_ms: int) -> Usage:
        return self.book.usage(tenant, window.value, window_key(window, now_ms))


def _verdict(status: WindowStatus) -> Verdict:
    return Verdict(True, status.window, status.limit, status.remaining, status.reset_s)


def plan_named(name: str) -> Plan:
    plan = PLANS.get(name)
    if plan is None:
        raise BadRequest(f"unknown plan {name!r}; known plans: {', '.join(PLANS)}")
    return plan


def parse_changes(changes: Mapping[str, object]) -> tuple[str | None, dict[str, int | None]]:
    """Validate a quota change (`plan`, `daily`, `monthly`, `burst`; null lifts a limit)."""
    unknown = set(changes) - {"plan", *SETTABLE}
    if unknown:
        raise BadRequest(f"unknown quota field(s) {sorted(unknown)}; want plan, daily, "
                         "monthly or burst")
    plan = changes.get("plan")
    if plan is not None and not isinstance(plan, str):
        raise BadRequest("plan must be a string")
    if plan is not None:
        plan_named(plan)
    limits: dict[str, int | None] = {}
    for name in SETTABLE:
        if name not in changes:
            continue
        value = changes[name]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 0):
            raise BadRequest(f"{name} must be a non-negative integer or null")
        limits[name] = value
    return plan, limits


def plan_limits(plan: Plan) -> dict[str, int | None]:
    """A plan's table as a dict (name -> limit)."""
    return {f.name: getattr(plan, f.name) for f in fields(plan) if f.name != "name"}
