"""The plans: one table of limits, one spelling of plan names, one lookup of a tenant's limits.

Figures from QStash's pricing page. A tenant's limits come from its own settings (plan and
overrides set through the control API), else the emulator-wide overrides (command line), else
its plan. Above a resource limit (queues, schedules, URL groups, parallelism) the API answers
412; a body over the size limit 413; a delay beyond the maximum 400; retries and timeout above
the plan's maximum are capped ("capped by plan"); message windows answer 429.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields

from .errors import BadRequest
from .harness import bounds
from .model import QuotaSettings
from .ports import PlanSettingsStore
from .recent import RecentReads

MB = 1024 * 1024
DAY_S = 86_400
DEFAULT_PLAN = "payg"
SETTINGS_CACHE_S = 1.0
SETTABLE = ("daily", "monthly", "burst")


@dataclass(frozen=True, slots=True)
class Plan:
    """One plan's limits (None: no limit)."""

    name: str
    daily: int | None = None
    monthly: int | None = None
    burst: int | None = None
    max_body_bytes: int | None = None
    max_delay_s: int | None = None
    max_retries: int | None = None
    max_timeout_s: int | None = None
    queues: int | None = None
    parallelism: int | None = None
    schedules: int | None = None
    url_groups: int | None = None
    endpoints_per_url_group: int | None = None


LIMIT_NAMES = tuple(f.name for f in fields(Plan) if f.name != "name")

PLANS: dict[str, Plan] = {
    plan.name: plan
    for plan in (
        Plan("free", daily=1_000, burst=100, max_body_bytes=1 * MB, max_delay_s=7 * DAY_S,
             max_retries=3, max_timeout_s=15 * 60, queues=10, parallelism=2, schedules=10,
             url_groups=1, endpoints_per_url_group=100),
        Plan("payg", max_body_bytes=10 * MB, max_delay_s=365 * DAY_S, max_retries=5,
             max_timeout_s=2 * 3600, queues=100, parallelism=100, schedules=1_000,
             url_groups=100, endpoints_per_url_group=100),
        Plan("fixed-1m", daily=1_000_000, max_body_bytes=50 * MB, max_retries=20,
             parallelism=200),
        Plan("fixed-10m", daily=10_000_000, max_body_bytes=50 * MB, max_retries=20,
             parallelism=1_000),
        Plan("unlimited"),
    )
}


Resolved = tuple[Plan, Mapping[str, int | None]]
"""A tenant's plan and its limits by name (None: no limit)."""


def plan_named(name: str) -> Plan:
    plan = PLANS.get(name)
    if plan is None:
        raise BadRequest(f"unknown plan {name!r}; known plans: {', '.join(PLANS)}")
    return plan


def plan_table(plan: Plan) -> dict[str, int | None]:
    """A plan's limits as a dict (name -> limit)."""
    return {name: getattr(plan, name) for name in LIMIT_NAMES}


class Plans:
    """Which plan and limit overrides apply to each tenant: the one lookup of every limit.

    >>> Plans(store, wall, plan="free").limit("tenant", "queues")  # doctest: +SKIP
    10
    """

    def __init__(
        self,
        store: PlanSettingsStore,
        wall: Callable[[], float],
        plan: str = DEFAULT_PLAN,
        overrides: Mapping[str, int | None] | None = None,
    ) -> None:
        self._store = store
        self.plan_name = plan_named(plan).name
        self.overrides: dict[str, int | None] = dict(overrides or {})
        # a tenant's plan and limits, from its settings read at most once per SETTINGS_CACHE_S:
        # a publish asks for limits four times, and another instance's changes show up that soon
        self._read: RecentReads[Resolved] = RecentReads(wall, SETTINGS_CACHE_S)

    def plan(self, tenant: str) -> Plan:
        return self._resolved(tenant)[0]

    def limit(self, tenant: str, name: str) -> int | None:
        """A limit of `tenant`: its own setting, else the emulator-wide one, else the plan's."""
        return self.limits_of(tenant, (name,))[0]

    def limits_of(self, tenant: str, names: tuple[str, ...]) -> tuple[int | None, ...]:
        """Several limits of `tenant` with one look-up (a publish needs four)."""
        return tuple(map(self._resolved(tenant)[1].__getitem__, names))

    def limits(self, tenant: str) -> dict[str, int | None]:
        return dict(self._resolved(tenant)[1])

    def configure(self, tenant: str | None, changes: Mapping[str, object]) -> None:
        """Apply `{"plan": ..., "daily": N|None, ...}` to one tenant (None: emulator-wide)."""
        plan, limits = parse_changes(changes)
        if tenant is None:
            if plan is not None:
                self.plan_name = plan
            self.overrides.update(limits)
            self._read.forget(None)
            return
        state = self._store.quota_settings(tenant) or QuotaSettings()
        self._store.put_quota_settings(tenant, QuotaSettings(
            plan if plan is not None else state.plan, {**state.overrides, **limits}))
        self._read.forget(tenant)

    def forget(self, tenant: str | None) -> None:
        """Drop what was read of a tenant's settings (every tenant's with None)."""
        self._read.forget(tenant)

    def _resolved(self, tenant: str) -> Resolved:
        return self._read.get((tenant,), lambda: self._resolve(tenant))

    def _resolve(self, tenant: str) -> Resolved:
        """The tenant's plan and every limit: its own setting, else the emulator-wide one, else
        the plan's."""
        state = self._store.quota_settings(tenant)
        plan = PLANS[(state.plan if state and state.plan else None) or self.plan_name]
        own = state.overrides if state is not None else {}
        shared = self.overrides if state is None or state.plan is None else {}
        return plan, {name: own[name] if name in own else shared[name] if name in shared
                      else getattr(plan, name) for name in LIMIT_NAMES}


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
        limits[name] = None if value is None else bounds.integer(value, name, bounds.QUOTA_LIMIT)
    return plan, limits
