"""Per-plan resource limits as data (QStash pricing, fact sheet section 6.1).

None means "no limit". Above a limit QStash answers 412 with `{"error": ...}`.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PLAN = "payg"


@dataclass(frozen=True, slots=True)
class PlanLimits:
    queues: int | None
    parallelism: int
    schedules: int | None
    url_groups: int | None
    endpoints_per_url_group: int | None


PLANS: dict[str, PlanLimits] = {
    "free": PlanLimits(
        queues=10, parallelism=2, schedules=10, url_groups=1, endpoints_per_url_group=100
    ),
    "payg": PlanLimits(
        queues=100, parallelism=100, schedules=1000, url_groups=100, endpoints_per_url_group=100
    ),
    "fixed_1m": PlanLimits(
        queues=None, parallelism=200, schedules=None, url_groups=None, endpoints_per_url_group=None
    ),
    "fixed_10m": PlanLimits(
        queues=None, parallelism=1000, schedules=None, url_groups=None,
        endpoints_per_url_group=None,
    ),
}


def plan_limits(plan: str | None = None) -> PlanLimits:
    """The limits of `plan` (the default plan when None or unknown)."""
    return PLANS.get(plan or DEFAULT_PLAN, PLANS[DEFAULT_PLAN])
