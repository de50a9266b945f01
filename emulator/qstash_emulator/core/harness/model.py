"""The harness values the store keeps: fault rules, pending duplicate deliveries, outages."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from fnmatch import fnmatchcase

API_PREFIX = "/v2/"


PASS = "pass"
"""A `statuses` entry letting the real destination answer that attempt (JSON null too)."""


class SignatureFault(StrEnum):
    NEXT_KEY = "next-key"
    EXPIRED = "expired"
    WRONG_SUB = "wrong-sub"
    WRONG_BODY = "wrong-body"


class MatchType(StrEnum):
    EXACT = "exact"
    PREFIX = "prefix"
    GLOB = "glob"


@dataclass(frozen=True, slots=True)
class FaultRule:
    """One rule as configured (see `faults.parse_rule` for the fields)."""

    rule_id: str
    tenant: str | None
    match: str
    match_type: MatchType
    statuses: tuple[int | None, ...] = ()  # None: the real destination answers
    latency_ms: int = 0
    timeout: bool = False
    connection_error: bool = False
    probability: float | None = None
    seed: int | None = None
    duplicate_after_s: float | None = None
    signature: SignatureFault | None = None
    draw_seed: str = ""
    """What the probability draws derive from: the given `seed`, else one picked when added."""

    def matches(self, tenant: str, url: str) -> bool:
        if self.tenant is not None and self.tenant != tenant:
            return False
        if self.match_type is MatchType.EXACT:
            return url == self.match
        if self.match_type is MatchType.PREFIX:
            return url.startswith(self.match)
        return fnmatchcase(url, self.match)

    @property
    def warnings(self) -> list[str]:
        """What the rule does that a test rarely wants (shown in the answer that adds it)."""
        fake = sorted({s for s in self.statuses if s is not None and 200 <= s < 300})
        if not fake:
            return []
        return [f"statuses {fake} answer in the destination's place: the attempt counts as "
                f'delivered and the destination never sees it; use "{PASS}" to let the real '
                "destination answer an attempt"]

    @property
    def fails(self) -> bool:
        """Whether the rule changes the destination's answer (not only latency or signature)."""
        return bool(self.statuses or self.timeout or self.connection_error) or (
            self.probability is not None)


@dataclass(order=True, frozen=True, slots=True)
class Duplicate:
    """A successful delivery to make once more at `due_ms` (emulator time)."""

    due_ms: int
    tenant: str = field(compare=False)
    message_id: str = field(compare=False)
    rule_id: str = field(compare=False)


class OutageMode(StrEnum):
    ERROR = "error"
    TIMEOUT = "timeout"
    RESET = "reset"


@dataclass(frozen=True, slots=True)
class Outage:
    """One outage: `mode`, its status or hold time, the paths hit and how many requests left
    (`count`; None: until ended). `outage_id` tells a restarted outage from the one before."""

    mode: OutageMode
    tenant: str | None = None
    status: int = 503
    seconds: float = 30.0
    count: int | None = None
    paths: tuple[str, ...] = (API_PREFIX,)
    outage_id: str = ""

    def covers(self, tenant: str | None, path: str) -> bool:
        if self.tenant is not None and tenant != self.tenant:
            return False
        return any(path.startswith(prefix) for prefix in self.paths)


@dataclass(frozen=True, slots=True)
class HarnessState:
    """Everything the harness has in force, read in one go: rules in the order they were added,
    outages (with the requests each has left) and when the next duplicate falls due."""

    rules: tuple[FaultRule, ...] = ()
    outages: tuple[Outage, ...] = ()
    next_duplicate_ms: int | None = None
