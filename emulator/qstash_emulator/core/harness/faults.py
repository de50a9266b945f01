"""Destination chaos: rules matched by destination URL, and the effects they decide.

The decisions are pure: `effect_for` says what the destination "answers" to one attempt,
`signature_for` how its signature is spoiled; the delivery layer applies them.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from fnmatch import fnmatchcase

from ..errors import BadRequest
from ..messages.signing import SignatureClaims, body_hash

GLOB_CHARS = frozenset("*?[")
PASS = "pass"
"""A `statuses` entry letting the real destination answer that attempt (JSON null too)."""
WRONG_SUBJECT_SUFFIX = "/not-this-url"


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
    """One rule as configured (see `parse_rule` for the fields)."""

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


@dataclass(frozen=True, slots=True)
class Effect:
    """What to do to one attempt. `status` None: let the real destination answer."""

    rule_id: str
    status: int | None = None
    timeout: bool = False
    connection_error: bool = False
    latency_ms: int = 0

    @property
    def replaces_answer(self) -> bool:
        return self.status is not None or self.timeout or self.connection_error

    def describe(self) -> str:
        if self.timeout:
            return "timeout"
        if self.connection_error:
            return "connection error"
        if self.status is not None:
            return f"status {self.status}"
        return f"latency {self.latency_ms}ms"


@dataclass(slots=True)
class _Live:
    rule: FaultRule
    rng: random.Random
    position: int = 0


@dataclass(order=True, frozen=True, slots=True)
class Duplicate:
    due_ms: int
    tenant: str = field(compare=False)
    message_id: str = field(compare=False)
    rule_id: str = field(compare=False)


class Faults:
    """The fault rules in force, in the order they were added, and pending duplicates."""

    def __init__(self) -> None:
        self._rules: dict[str, _Live] = {}
        self._duplicates: list[Duplicate] = []
        self._next = 0

    def add(self, body: object, tenant: str | None) -> FaultRule:
        self._next += 1
        rule = parse_rule(body, tenant, f"fault_{self._next}")
        self._rules[rule.rule_id] = _Live(rule, random.Random(rule.seed))
        return rule

    def rules(self, tenant: str | None) -> list[FaultRule]:
        """The tenant's rules (and the all-tenant ones); every rule with None."""
        return [live.rule for live in self._rules.values()
                if tenant is None or live.rule.tenant in (tenant, None)]

    def remove(self, rule_id: str, tenant: str | None) -> bool:
        live = self._rules.get(rule_id)
        if live is None or (tenant is not None and live.rule.tenant != tenant):
            return False
        del self._rules[rule_id]
        return True

    def clear(self, tenant: str | None) -> int:
        doomed = [rid for rid, live in self._rules.items()
                  if tenant is None or live.rule.tenant == tenant]
        for rule_id in doomed:
            del self._rules[rule_id]
        if tenant is None:
            self._duplicates.clear()
        return len(doomed)

    def _first(self, tenant: str, url: str, wanted: str) -> _Live | None:
        for live in self._rules.values():
            if live.rule.matches(tenant, url) and _has(live.rule, wanted):
                return live
        return None

    def effect_for(self, tenant: str, url: str) -> Effect | None:
        """Decide one attempt's fate (advances the status sequence and the seeded RNG)."""
        live = self._first(tenant, url, "answer")
        if live is None:
            return None
        rule = live.rule
        if rule.fails and rule.probability is not None and live.rng.random() >= rule.probability:
            return Effect(rule.rule_id, latency_ms=rule.latency_ms) if rule.latency_ms else None
        if rule.statuses:
            if live.position >= len(rule.statuses):
                return Effect(rule.rule_id, latency_ms=rule.latency_ms) if rule.latency_ms else None
            status = rule.statuses[live.position]
            live.position += 1
            if status is None and not rule.latency_ms:
                return None
            return Effect(rule.rule_id, status=status, latency_ms=rule.latency_ms)
        if rule.timeout or rule.connection_error:
            return Effect(rule.rule_id, timeout=rule.timeout,
                          connection_error=rule.connection_error and not rule.timeout,
                          latency_ms=rule.latency_ms)
        fallback = 500 if rule.probability is not None else None
        return Effect(rule.rule_id, status=fallback, latency_ms=rule.latency_ms)

    def signature_for(self, tenant: str, url: str) -> SignatureFault | None:
        live = self._first(tenant, url, "signature")
        return live.rule.signature if live else None

    def duplicate_rule(self, tenant: str, url: str) -> FaultRule | None:
        live = self._first(tenant, url, "duplicate")
        return live.rule if live else None

    def schedule_duplicate(self, duplicate: Duplicate) -> None:
        heapq.heappush(self._duplicates, duplicate)

    def next_duplicate_ms(self) -> int | None:
        return self._duplicates[0].due_ms if self._duplicates else None

    def pop_duplicates(self, now_ms: int) -> list[Duplicate]:
        due = []
        while self._duplicates and self._duplicates[0].due_ms <= now_ms:
            due.append(heapq.heappop(self._duplicates))
        return due


def _has(rule: FaultRule, wanted: str) -> bool:
    if wanted == "answer":
        return rule.fails or rule.latency_ms > 0
    if wanted == "signature":
        return rule.signature is not None
    return rule.duplicate_after_s is not None


FIELDS = frozenset({
    "match", "match_type", "statuses", "latency_ms", "timeout", "connection_error",
    "probability", "seed", "duplicate_after_s", "signature",
})


def parse_rule(body: object, tenant: str | None, rule_id: str) -> FaultRule:
    """Validate a rule body; 400 (BadRequest) on anything unknown or malformed."""
    if not isinstance(body, Mapping):
        raise BadRequest('invalid body: want {"match": "<url, prefix or glob>", ...effects}')
    unknown = set(body) - FIELDS
    if unknown:
        raise BadRequest(f"unknown fault field(s) {sorted(unknown)}")
    match = body.get("match")
    if not isinstance(match, str) or not match:
        raise BadRequest("match must be a non-empty URL, URL prefix or glob")
    rule = FaultRule(
        rule_id=rule_id,
        tenant=tenant,
        match=match,
        match_type=_match_type(body.get("match_type"), match),
        statuses=_statuses(body.get("statuses")),
        latency_ms=_int(body, "latency_ms", 0) or 0,
        timeout=_flag(body, "timeout"),
        connection_error=_flag(body, "connection_error"),
        probability=_probability(body.get("probability")),
        seed=_int(body, "seed", None),
        duplicate_after_s=_seconds(body, "duplicate_after_s"),
        signature=_signature(body.get("signature")),
    )
    if not (rule.fails or rule.latency_ms or rule.signature or rule.duplicate_after_s is not None):
        raise BadRequest("a fault needs at least one effect: statuses, latency_ms, timeout, "
                         "connection_error, probability, duplicate_after_s or signature")
    return rule


def _match_type(value: object, match: str) -> MatchType:
    if value is None:
        return MatchType.GLOB if GLOB_CHARS & set(match) else MatchType.PREFIX
    try:
        return MatchType(str(value))
    except ValueError:
        raise BadRequest('match_type must be "exact", "prefix" or "glob"') from None


def _statuses(value: object) -> tuple[int | None, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not value or not all(map(_status_entry, value)):
        raise BadRequest(f'statuses must be a non-empty list of HTTP statuses (100..599) or '
                         f'"{PASS}" (the real destination answers that attempt)')
    return tuple(None if s in (None, PASS) else s for s in value)


def _status_entry(value: object) -> bool:
    if value is None or value == PASS:
        return True
    return isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599


def _int(body: Mapping[str, object], name: str, default: int | None) -> int | None:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or (name != "seed" and value < 0):
        raise BadRequest(f"{name} must be a non-negative integer")
    return value


def _seconds(body: Mapping[str, object], name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise BadRequest(f"{name} must be a non-negative number of seconds")
    return float(value)


def _flag(body: Mapping[str, object], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise BadRequest(f"{name} must be true or false")
    return value


def _probability(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise BadRequest("probability must be a number from 0 to 1")
    return float(value)


def _signature(value: object) -> SignatureFault | None:
    if value is None:
        return None
    try:
        return SignatureFault(str(value))
    except ValueError:
        names = ", ".join(f'"{s.value}"' for s in SignatureFault)
        raise BadRequest(f"signature must be one of {names}") from None


def spoil(claims: SignatureClaims, fault: SignatureFault) -> SignatureClaims:
    """The claims a signature fault signs. Every fault is signed with the tenant's *next* key:
    receivers try the current key, then the next one, and report the last failure, so the
    next key makes `qstash.Receiver` raise the fault's own reason ("Signature has expired",
    "Invalid subject", "Invalid body hash"). `next-key` alone changes only the key.
    """
    if fault is SignatureFault.EXPIRED:
        return replace(claims, issued_at=claims.issued_at - 2 * claims.lifetime_s)
    if fault is SignatureFault.WRONG_SUB:
        return replace(claims, subject=claims.url + WRONG_SUBJECT_SUFFIX)
    if fault is SignatureFault.WRONG_BODY:
        return replace(claims, body_hash=body_hash(claims.body + b"\n(tampered)"))
    return claims
