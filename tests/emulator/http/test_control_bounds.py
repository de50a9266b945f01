"""Control-API bodies: non-finite and out-of-range numbers are a 400, change nothing, and leave
the emulator answering; no answer carries invalid JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pytest_qstash.server import EmulatorServer
from qstash_emulator import Emulator, Settings
from qstash_emulator.core.harness.bounds import MAX_CLOCK_MS
from qstash_emulator.core.tenants import DEFAULT_TOKEN
from qstash_emulator.emulator import CLOCK_META
from qstash_emulator.storage.memory import MemoryStore

AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
DEST = "http://127.0.0.1:9/x"
HOSTILE = ["NaN", "Infinity", "-Infinity", "1e308", "1e400", "-1", "true", '"5"']


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(clock="virtual") as running:
        yield running


@pytest.fixture
def http(server: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=AUTH) as client:
        yield client
        client.post("/__emulator__/reset")


def strict_json(response: httpx.Response) -> Any:
    """The answer's JSON, refusing NaN and Infinity as a strict JSON parser does."""
    def refuse(name: str) -> None:
        raise AssertionError(f"invalid JSON constant {name} in {response.text!r}")
    return json.loads(response.text, parse_constant=refuse)


def refused(response: httpx.Response, contains: str = "") -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = strict_json(response)["error"]
    assert contains in error


def still_publishes(http: httpx.Client) -> None:
    response = http.post(f"/v2/publish/{DEST}", content=b"x")
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("raw", [*HOSTILE, "1e12", "6000000000"])
def test_the_clock_refuses_what_it_cannot_reach(http: httpx.Client, raw: str) -> None:
    before = http.get("/__emulator__/clock").json()["now"]
    refused(http.post("/__emulator__/clock/advance", content=f'{{"seconds": {raw}}}'))
    assert http.get("/__emulator__/clock").json()["now"] == before
    still_publishes(http)


def test_the_clock_stops_short_of_2200(http: httpx.Client) -> None:
    now = http.get("/__emulator__/clock").json()["now"]
    too_far = (MAX_CLOCK_MS - now) / 1000 + 1
    refused(http.post("/__emulator__/clock/advance", json={"seconds": too_far}), "2200-01-01")
    assert http.get("/__emulator__/clock").json()["now"] == now


@pytest.mark.parametrize("field", ["duplicate_after_s", "latency_ms", "probability", "seed"])
@pytest.mark.parametrize("raw", HOSTILE)
def test_fault_numbers_are_checked(http: httpx.Client, field: str, raw: str) -> None:
    if field == "seed" and raw == "-1":
        return  # a negative seed is a seed
    body = f'{{"match": "{DEST}", "statuses": [500], "{field}": {raw}}}'
    refused(http.post("/__emulator__/faults", content=body), field if raw[0].isdigit() else "")
    assert strict_json(http.get("/__emulator__/faults"))["faults"] == []
    still_publishes(http)


@pytest.mark.parametrize(("field", "raw"), [
    *[("seconds", raw) for raw in [*HOSTILE, "0", "86400"]],
    *[("count", raw) for raw in [*HOSTILE, "0", "1.5"]],
])
def test_outage_numbers_are_checked(http: httpx.Client, field: str, raw: str) -> None:
    body = f'{{"mode": "timeout", "seconds": 1, "{field}": {raw}}}'
    refused(http.post("/__emulator__/outage", content=body))
    assert strict_json(http.get("/__emulator__/outage"))["outages"] == []
    still_publishes(http)


@pytest.mark.parametrize("raw", [*HOSTILE, "1.5", "100000000000000000000"])
def test_quota_numbers_are_checked(http: httpx.Client, raw: str) -> None:
    before = strict_json(http.get("/__emulator__/quota"))
    refused(http.put("/__emulator__/quota", content=f'{{"daily": {raw}}}'))
    assert strict_json(http.get("/__emulator__/quota")) == before
    still_publishes(http)


def test_numbers_in_range_are_taken(http: httpx.Client) -> None:
    fault = {"match": DEST, "statuses": [500], "latency_ms": 3_600_000, "probability": 0.5,
             "duplicate_after_s": 30 * 86_400, "seed": -(2**63 - 1)}
    assert http.post("/__emulator__/faults", json=fault).status_code == 200
    outage = {"mode": "timeout", "seconds": 0.5, "count": 3, "paths": ["/v2/keys"]}
    assert strict_json(http.post("/__emulator__/outage", json=outage))["seconds"] == 0.5
    assert http.put("/__emulator__/quota", json={"daily": 10**12}).status_code == 200
    assert http.post("/__emulator__/clock/advance", json={"seconds": 86_400}).status_code == 200


def test_a_stored_clock_out_of_range_is_ignored_on_start() -> None:
    store = MemoryStore()
    store.config.set_meta(CLOCK_META, str(10**15))
    emulator = Emulator(Settings(clock="virtual"), store=store)
    assert emulator.clock.now_ms() < MAX_CLOCK_MS


@pytest.mark.parametrize("header", [{"Upstash-Not-Before": "99999999999999"},
                                    {"Upstash-Delay": "100000000d"}])
def test_no_message_can_fall_due_past_2200(header: dict[str, str]) -> None:
    with EmulatorServer(clock="virtual", plan="unlimited") as unlimited, \
            httpx.Client(base_url=unlimited.url, headers=AUTH) as http:
        refused(http.post(f"/v2/publish/{DEST}", content=b"x", headers=header), "2200-01-01")
        assert http.get("/v2/events").json()["events"] == []
        assert http.get("/__emulator__/ui/messages").status_code == 200
