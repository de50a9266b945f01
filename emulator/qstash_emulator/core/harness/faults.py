"""Destination chaos: rules matched by destination URL, and the effects they decide.

The decisions are pure: `effect_for` says what the destination "answers" to one attempt,
`signature_for` how its signature is spoiled; the delivery layer applies them. Rules, their
progress and pending duplicates are kept in the store, so every instance sharing it applies the
same ones: a status sequence runs once across all of them, and the probability draws come from
the rule's seed and a shared counter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace

from ..errors import BadRequest
from ..messages.signing import SignatureClaims, body_hash
from ..ports import HarnessStore, IdSource
from . import bounds
from .model import PASS, Duplicate, FaultRule, MatchType, SignatureFault
from .view import HarnessView

GLOB_CHARS = frozenset("*?[")
WRONG_SUBJECT_SUFFIX = "/not-this-url"


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


def draw(seed: str, number: int) -> float:
    """The `number`th draw (1, 2, ...) from `seed`: uniform in [0, 1), equal in every process."""
    digest = hashlib.blake2b(f"{seed}\n{number}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") >> 11) / (1 << 53)


class Faults:
    """The fault rules in force, in the order they were added, and pending duplicates.

    >>> faults = Faults(harness, HarnessView(harness, wall, None), ids)  # doctest: +SKIP
    """

    def __init__(self, store: HarnessStore, view: HarnessView, ids: IdSource) -> None:
        self._store = store
        self._view = view
        self._ids = ids

    def add(self, body: object, tenant: str | None) -> FaultRule:
        rule = parse_rule(body, tenant, "")
        draw_seed = str(rule.seed) if rule.seed is not None else self._ids.new_id("draw")
        rule = replace(rule, rule_id=f"fault_{self._store.new_fault_number()}",
                       draw_seed=draw_seed)
        self._store.put_fault(rule)
        self._view.changed()
        return rule

    def rules(self, tenant: str | None) -> list[FaultRule]:
        """The tenant's rules (and the all-tenant ones); every rule with None."""
        return [rule for rule in self._view.refresh().rules
                if tenant is None or rule.tenant in (tenant, None)]

    def remove(self, rule_id: str, tenant: str | None) -> bool:
        found = [rule for rule in self._view.refresh().rules if rule.rule_id == rule_id]
        if not found or (tenant is not None and found[0].tenant != tenant):
            return False
        self._view.changed()
        return self._store.delete_faults([rule_id]) > 0

    def clear(self, tenant: str | None) -> int:
        doomed = [rule.rule_id for rule in self._view.refresh().rules
                  if tenant is None or rule.tenant == tenant]
        cleared = self._store.delete_faults(doomed) if doomed else 0
        if tenant is None:
            self._store.clear_duplicates()
        self._view.changed()
        return cleared

    def _first(self, tenant: str, url: str, wanted: str) -> FaultRule | None:
        for rule in self._view.current().rules:
            if rule.matches(tenant, url) and _has(rule, wanted):
                return rule
        return None

    def effect_for(self, tenant: str, url: str) -> Effect | None:
        """Decide one attempt's fate (takes the rule's next draw and its next status)."""
        rule = self._first(tenant, url, "answer")
        if rule is None:
            return None
        if rule.probability is not None:
            number = self._store.advance_fault(rule.rule_id, "draws")
            if number == 0:
                return None  # removed meanwhile by another instance
            if draw(rule.draw_seed, number) >= rule.probability:
                return _latency_only(rule)
        if rule.statuses:
            return self._next_status(rule)
        if rule.timeout or rule.connection_error:
            return Effect(rule.rule_id, timeout=rule.timeout,
                          connection_error=rule.connection_error and not rule.timeout,
                          latency_ms=rule.latency_ms)
        fallback = 500 if rule.probability is not None else None
        return Effect(rule.rule_id, status=fallback, latency_ms=rule.latency_ms)

    def _next_status(self, rule: FaultRule) -> Effect | None:
        step = self._store.advance_fault(rule.rule_id, "statuses")
        if step == 0:
            return None
        if step > len(rule.statuses):
            return _latency_only(rule)
        status = rule.statuses[step - 1]
        if status is None:
            return _latency_only(rule)
        return Effect(rule.rule_id, status=status, latency_ms=rule.latency_ms)

    def signature_for(self, tenant: str, url: str) -> SignatureFault | None:
        rule = self._first(tenant, url, "signature")
        return rule.signature if rule else None

    def duplicate_rule(self, tenant: str, url: str) -> FaultRule | None:
        return self._first(tenant, url, "duplicate")

    def schedule_duplicate(self, duplicate: Duplicate) -> None:
        self._store.add_duplicate(duplicate)
        self._view.changed()

    def next_duplicate_ms(self) -> int | None:
        return self._view.current().next_duplicate_ms

    def pop_duplicates(self, now_ms: int) -> list[Duplicate]:
        """The duplicates due by `now_ms` (each goes to one instance only)."""
        due_ms = self._view.current().next_duplicate_ms
        if due_ms is None or due_ms > now_ms:
            return []
        self._view.changed()
        return self._store.pop_duplicates(now_ms)


def _latency_only(rule: FaultRule) -> Effect | None:
    return Effect(rule.rule_id, latency_ms=rule.latency_ms) if rule.latency_ms else None


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
        latency_ms=_int(body, "latency_ms", bounds.LATENCY_MS) or 0,
        timeout=_flag(body, "timeout"),
        connection_error=_flag(body, "connection_error"),
        probability=_probability(body.get("probability")),
        seed=_int(body, "seed", bounds.SEED),
        duplicate_after_s=_seconds(body, "duplicate_after_s", bounds.DUPLICATE_AFTER_S),
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


def _int(body: Mapping[str, object], name: str, allowed: bounds.Range) -> int | None:
    value = body.get(name)
    return None if value is None else bounds.integer(value, name, allowed)


def _seconds(body: Mapping[str, object], name: str, allowed: bounds.Range) -> float | None:
    value = body.get(name)
    return None if value is None else bounds.number(value, name, allowed)


def _flag(body: Mapping[str, object], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise BadRequest(f"{name} must be true or false")
    return value


def _probability(value: object) -> float | None:
    return None if value is None else bounds.number(value, "probability", bounds.PROBABILITY)


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
