"""The harness switches send the control API's exact forms and undo what they did.

A recording `Endpoint` stands in for the emulator here, so these run whatever the emulator
implements; test_plugin_harness.py runs the same switches against the real emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_qstash.endpoint import Endpoint, RecordedRequest
from pytest_qstash.harness import Faults, Outage, Quota
from qstash_emulator.control import EmulatorControl, FeatureUnavailable

QUOTA = {"daily": {"limit": 10, "used": 0}, "monthly": {"limit": None, "used": 0}}


def _answer(request: RecordedRequest) -> tuple[int, dict[str, str], str]:
    if request.path == "/__emulator__/quota" and request.method == "GET":
        return 200, {"content-type": "application/json"}, json.dumps(QUOTA)
    if request.path == "/__emulator__/faults" and request.method == "POST":
        return 200, {"content-type": "application/json"}, '{"id": "fault-1"}'
    if request.path == "/__emulator__/faults" and request.method == "GET":
        return 200, {"content-type": "application/json"}, '{"faults": [{"id": "fault-1"}]}'
    return 200, {"content-type": "application/json"}, "{}"


@pytest.fixture
def fake() -> Iterator[Endpoint]:
    with Endpoint() as endpoint:
        endpoint.set_handler(_answer)
        yield endpoint


@pytest.fixture
def control(fake: Endpoint) -> Iterator[EmulatorControl]:
    with EmulatorControl(fake.url, token="tok") as ctl:
        yield ctl


def _calls(fake: Endpoint) -> list[tuple[str, str, Any]]:
    return [(r.method, r.path.removeprefix("/__emulator__/"), r.json() if r.body else None)
            for r in fake.requests]


def test_quota_switches(fake: Endpoint, control: EmulatorControl) -> None:
    quota = Quota(control)
    with quota.set(daily=3, burst=None):
        pass
    with quota.exhaust("monthly"):
        pass
    quota.reset()
    assert _calls(fake) == [
        ("GET", "quota", None),
        ("PUT", "quota", {"daily": 3, "burst": None}),
        ("PUT", "quota", {"daily": 10, "burst": None}),  # the limits from before
        ("POST", "quota/exhaust", {"window": "monthly"}),
        ("POST", "quota/reset", None),
        ("POST", "quota/reset", None),
    ]
    assert all(r.header("authorization") == "Bearer tok" for r in fake.requests)


def test_outage_switches(fake: Endpoint, control: EmulatorControl) -> None:
    outage = Outage(control)
    with outage("error"):
        pass
    switch = outage.start("timeout", seconds=5, count=2, paths=["/v2/publish"])
    assert switch.active
    outage.undo_all()
    assert not switch.active
    outage.start("reset").undo()
    assert _calls(fake) == [
        ("POST", "outage", {"mode": "error", "status": 503}),
        ("DELETE", "outage", None),
        ("POST", "outage", {"mode": "timeout", "seconds": 5, "count": 2,
                            "paths": ["/v2/publish"]}),
        ("DELETE", "outage", None),
        ("POST", "outage", {"mode": "reset"}),
        ("DELETE", "outage", None),
    ]


def test_fault_switches(fake: Endpoint, control: EmulatorControl) -> None:
    faults = Faults(control)
    with faults.add("http://x/hook*", statuses=[500, 200]) as rule:
        assert rule.value == "fault-1"
        assert faults.list() == [{"id": "fault-1"}]
    faults.duplicate("http://x/orders", after_s=5)
    faults.clear()
    faults.undo_all()
    assert _calls(fake) == [
        ("POST", "faults", {"match": "http://x/hook*", "statuses": [500, 200]}),
        ("GET", "faults", None),
        ("DELETE", "faults/fault-1", None),
        ("POST", "faults", {"match": "http://x/orders", "duplicate_after_s": 5}),
        ("DELETE", "faults", None),
        ("DELETE", "faults/fault-1", None),
    ]


def test_an_emulator_without_the_api_says_so() -> None:
    with Endpoint() as older, EmulatorControl(older.url) as control:
        older.set_handler(lambda request: (404, {}, "Not Found"))
        assert not control.supports_harness()
        with pytest.raises(FeatureUnavailable, match="no /__emulator__/quota/exhaust API") as info:
            Quota(control).exhaust()
    assert info.value.status == 404
    assert "it lacks quotas" in str(info.value)
