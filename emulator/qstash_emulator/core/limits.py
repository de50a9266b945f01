"""Per-plan limits on how many schedules, URL groups and endpoints a tenant may keep.

Values from the QStash pricing page (fact sheet §6.1). Above a limit the API answers 412.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PLAN = "payg"


@dataclass(frozen=True, slots=True)
class ResourceLimits:
    schedules: int
    url_groups: int
    endpoints_per_group: int


PLANS: dict[str, ResourceLimits] = {
    "free": ResourceLimits(schedules=10, url_groups=1, endpoints_per_group=100),
    "payg": ResourceLimits(schedules=1000, url_groups=100, endpoints_per_group=100),
}


def limits_for(plan: str) -> ResourceLimits:
    """The limits of `plan` (unknown names fall back to the default plan)."""
    return PLANS.get(plan, PLANS[DEFAULT_PLAN])
