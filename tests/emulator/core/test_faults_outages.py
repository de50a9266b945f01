"""Fault rules and outages as pure decisions: matching, sequences, seeded chance, validation."""

from __future__ import annotations

import jwt
import pytest

from qstash_emulator.core.errors import BadRequest
from qstash_emulator.core.harness.faults import Faults, draw, parse_rule, spoil
from qstash_emulator.core.harness.model import Duplicate, MatchType, OutageMode, SignatureFault
from qstash_emulator.core.harness.outages import Outages, parse_outage
from qstash_emulator.core.harness.view import HarnessView
from qstash_emulator.core.messages.signing import SignatureClaims, body_hash, sign
from qstash_emulator.ids import RandomIds
from qstash_emulator.storage.memory.harness import MemoryHarness

URL = "http://127.0.0.1:9000/hook"
KEY = "sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r"


def new_faults() -> Faults:
    harness = MemoryHarness()
    return Faults(harness, HarnessView(harness, lambda: 0.0, None), RandomIds(seed=1))


def new_outages() -> Outages:
    harness = MemoryHarness()
    return Outages(harness, HarnessView(harness, lambda: 0.0, None), RandomIds(seed=1))


@pytest.mark.parametrize(("match", "url", "kind", "hit"), [
    (URL, URL, MatchType.PREFIX, True),
    (URL, URL + "/deeper", MatchType.PREFIX, True),
    ("http://127.0.0.1:9000/other", URL, MatchType.PREFIX, False),
    ("http://127.0.0.1:9000/hook*", URL + "?a=1", MatchType.GLOB, True),
    ("http://*/hook", URL, MatchType.GLOB, True),
    ("http://*/hook", URL + "2", MatchType.GLOB, False),
])
def test_rules_match_by_prefix_or_glob(match: str, url: str, kind: MatchType, hit: bool) -> None:
    rule = parse_rule({"match": match, "timeout": True}, "t", "f1")
    assert rule.match_type is kind
    assert rule.matches("t", url) is hit


def test_exact_match_and_tenant_scope() -> None:
    rule = parse_rule({"match": URL, "match_type": "exact", "timeout": True}, "t", "f1")
    assert rule.matches("t", URL) and not rule.matches("t", URL + "/x")
    assert not rule.matches("someone-else", URL)
    everyone = parse_rule({"match": URL, "timeout": True}, None, "f2")
    assert everyone.matches("someone-else", URL)


def test_status_sequence_then_the_real_destination() -> None:
    faults = new_faults()
    rule = faults.add({"match": URL, "statuses": [500, 503, 200]}, "t")
    assert [faults.effect_for("t", URL).status for _ in range(3)] == [500, 503, 200]
    assert faults.effect_for("t", URL) is None
    assert faults.effect_for("t", "http://elsewhere/") is None
    assert rule.rule_id == "fault_1"


def test_a_pass_entry_lets_that_attempt_through_and_a_listed_2xx_warns() -> None:
    faults = new_faults()
    rule = faults.add({"match": URL, "statuses": [500, "pass", None, 204],
                       "latency_ms": 0}, "t")
    effects = [faults.effect_for("t", URL) for _ in range(5)]
    assert [e.status if e else "real" for e in effects] == [500, "real", "real", 204, "real"]
    assert rule.statuses == (500, None, None, 204)
    assert "[204]" in rule.warnings[0] and "pass" in rule.warnings[0]
    slow = faults.add({"match": "http://127.0.0.1:9000/slow", "statuses": ["pass"],
                       "latency_ms": 50}, "t")
    effect = faults.effect_for("t", "http://127.0.0.1:9000/slow")
    assert effect is not None and effect.status is None and effect.latency_ms == 50
    assert slow.warnings == []
    with pytest.raises(BadRequest, match='"pass"'):
        parse_rule({"match": URL, "statuses": ["skip"]}, "t", "f9")


def test_seeded_probability_is_reproducible() -> None:
    def draws(seed: int) -> list[int | None]:
        faults = new_faults()
        faults.add({"match": URL, "probability": 0.5, "seed": seed}, "t")
        return [(e.status if (e := faults.effect_for("t", URL)) else None) for _ in range(40)]

    first = draws(1)
    assert first == draws(1)
    assert first != draws(2)
    assert set(first) == {500, None}


def test_draws_are_uniform_and_the_same_in_every_process() -> None:
    draws = [draw("7", n) for n in range(1, 4001)]
    assert draws == [draw("7", n) for n in range(1, 4001)]
    assert all(0 <= d < 1 for d in draws) and 0.47 < sum(draws) / len(draws) < 0.53
    assert draws[:20] != [draw("8", n) for n in range(1, 21)]
    assert draw("7", 1) == 0.39239196596791404  # fixed: a seed means the same runs everywhere


def test_a_rule_without_a_seed_gets_its_own_and_keeps_the_one_given() -> None:
    faults = new_faults()
    first = faults.add({"match": URL, "probability": 0.5}, "t")
    second = faults.add({"match": URL, "probability": 0.5}, "t")
    seeded = faults.add({"match": URL, "probability": 0.5, "seed": 3}, "t")
    assert first.draw_seed and first.draw_seed != second.draw_seed
    assert (seeded.seed, seeded.draw_seed) == (3, "3")
    assert first.seed is None


def test_a_rule_removed_by_another_instance_decides_nothing() -> None:
    harness = MemoryHarness()
    faults = Faults(harness, HarnessView(harness, lambda: 0.0, None), RandomIds(seed=1))
    rule = faults.add({"match": URL, "statuses": [500, 500]}, "t")
    assert faults.effect_for("t", URL).status == 500
    harness.delete_faults([rule.rule_id])  # as another instance would: this copy still has it
    assert faults.effect_for("t", URL) is None


def test_the_copy_of_the_state_is_read_again_when_old_or_changed_here() -> None:
    harness, wall = MemoryHarness(), [100.0]
    view = HarnessView(harness, lambda: wall[0], max_age_s=0.5)
    assert view.current().rules == ()
    harness.put_fault(parse_rule({"match": URL, "timeout": True}, None, "f1"))
    assert view.current().rules == (), "another instance's change: not yet"
    wall[0] += 0.5
    assert [r.rule_id for r in view.current().rules] == ["f1"]
    harness.put_fault(parse_rule({"match": URL, "timeout": True}, None, "f2"))
    view.changed()
    assert len(view.current().rules) == 2, "a change made here: at once"


def test_probability_gates_a_timeout_and_latency_stays() -> None:
    faults = new_faults()
    faults.add({"match": URL, "probability": 0.0, "timeout": True, "latency_ms": 20}, "t")
    effect = faults.effect_for("t", URL)
    assert effect is not None and not effect.replaces_answer and effect.latency_ms == 20


def test_signature_and_duplicate_rules_are_found_beside_answer_rules() -> None:
    faults = new_faults()
    faults.add({"match": URL, "statuses": [500]}, "t")
    faults.add({"match": URL, "signature": "expired", "duplicate_after_s": 5}, "t")
    assert faults.signature_for("t", URL) is SignatureFault.EXPIRED
    assert faults.duplicate_rule("t", URL).duplicate_after_s == 5.0
    assert faults.effect_for("t", URL).status == 500


def test_duplicates_pop_in_due_order() -> None:
    faults = new_faults()
    faults.schedule_duplicate(Duplicate(300, "t", "b", "f"))
    faults.schedule_duplicate(Duplicate(100, "t", "a", "f"))
    assert faults.next_duplicate_ms() == 100
    assert [d.message_id for d in faults.pop_duplicates(200)] == ["a"]
    assert [d.message_id for d in faults.pop_duplicates(300)] == ["b"]
    assert faults.next_duplicate_ms() is None


def test_remove_and_clear_respect_the_tenant() -> None:
    faults = new_faults()
    mine = faults.add({"match": URL, "timeout": True}, "t")
    theirs = faults.add({"match": URL, "timeout": True}, "u")
    assert not faults.remove(theirs.rule_id, "t")
    assert [r.rule_id for r in faults.rules("t")] == [mine.rule_id]
    assert faults.clear("t") == 1
    assert [r.rule_id for r in faults.rules(None)] == [theirs.rule_id]


@pytest.mark.parametrize("body", [
    None, [], {}, {"match": ""}, {"match": URL}, {"match": URL, "statuses": []},
    {"match": URL, "statuses": [700]}, {"match": URL, "statuses": "500"},
    {"match": URL, "probability": 1.5}, {"match": URL, "latency_ms": -1},
    {"match": URL, "timeout": "yes"}, {"match": URL, "signature": "bogus"},
    {"match": URL, "match_type": "regex", "timeout": True}, {"match": URL, "color": "red"},
    {"match": URL, "duplicate_after_s": "5s"},
])
def test_bad_rules_are_refused(body: object) -> None:
    with pytest.raises(BadRequest):
        parse_rule(body, "t", "f")


def _claims() -> SignatureClaims:
    return SignatureClaims(url=URL, body=b"hi", issued_at=1_700_000_000, jwt_id="j")


def test_spoiled_claims() -> None:
    def payload(fault: SignatureFault) -> dict[str, object]:
        token = sign(KEY, spoil(_claims(), fault))
        return jwt.decode(token, KEY, algorithms=["HS256"], options={"verify_exp": False})

    assert payload(SignatureFault.EXPIRED)["exp"] < 1_700_000_000
    assert payload(SignatureFault.WRONG_SUB)["sub"] != URL
    assert payload(SignatureFault.WRONG_BODY)["body"] != body_hash(b"hi")
    assert spoil(_claims(), SignatureFault.NEXT_KEY) == _claims()


def test_outage_count_and_paths() -> None:
    outages = new_outages()
    outages.start(parse_outage({"mode": "error", "status": 500, "count": 2,
                                "paths": ["/v2/publish"]}, "t"))
    assert outages.take("t", "/v2/messages/x") is None
    assert outages.take("u", "/v2/publish/http://x") is None
    assert outages.take("t", "/v2/publish/http://x").status == 500
    assert outages.take("t", "/v2/publish/http://x") is not None
    assert outages.take("t", "/v2/publish/http://x") is None


def test_outage_for_everyone_and_never_the_control_api() -> None:
    outages = new_outages()
    outages.start(parse_outage({"mode": "reset"}, None))
    assert outages.take(None, "/v2/keys").mode is OutageMode.RESET
    assert outages.take("t", "/v2/keys") is not None
    assert outages.take("t", "/__emulator__/health") is None
    assert outages.end("t") == 0
    assert outages.end("t", everywhere=True) == 1


@pytest.mark.parametrize("body", [
    None, {}, {"mode": "explode"}, {"mode": "error", "status": 200},
    {"mode": "error", "status": "503"}, {"mode": "timeout"}, {"mode": "timeout", "seconds": 0},
    {"mode": "reset", "count": 0}, {"mode": "reset", "paths": "/v2/publish"},
    {"mode": "reset", "paths": ["v2"]}, {"mode": "reset", "scope": "all"},
])
def test_bad_outages_are_refused(body: object) -> None:
    with pytest.raises(BadRequest):
        parse_outage(body, "t")


def test_outage_defaults() -> None:
    outage = parse_outage({"mode": "error"}, "t")
    assert (outage.status, outage.count, outage.paths) == (503, None, ("/v2/",))
    assert parse_outage({"mode": "timeout", "seconds": 5}, "t").seconds == 5.0
