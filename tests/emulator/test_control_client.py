"""`EmulatorControl` and `AsyncEmulatorControl` drive a real emulator through every call.

Both faces run the same tour: each test takes a `call(name, *args)` that invokes the method on
the face under test (awaiting it for the async one).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from qstash import QStash

from pytest_qstash.endpoint import Endpoint, RecordedRequest
from pytest_qstash.server import EmulatorServer
from qstash_emulator import AsyncEmulatorControl, ControlError, EmulatorControl, FeatureUnavailable
from qstash_emulator.control import calls
from qstash_emulator.core.tenants import DEFAULT_TOKEN, derived_keys

pytestmark = pytest.mark.anyio
Call = Callable[..., Awaitable[Any]]


@pytest.fixture(params=["sync", "async"])
async def call(request: pytest.FixtureRequest, server: EmulatorServer,
               token: str) -> AsyncIterator[Call]:
    face = EmulatorControl if request.param == "sync" else AsyncEmulatorControl
    control = face(server.url, token)

    async def invoke(name: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(control, name)(*args, **kwargs)
        return await result if inspect.isawaitable(result) else result

    yield invoke
    await invoke("reset")
    await invoke("close")


def _public(cls: type) -> dict[str, inspect.Signature]:
    return {name: inspect.signature(member) for name, member in vars(cls).items()
            if not name.startswith("_") and callable(member) and name != "close"}


def test_both_faces_offer_every_call_with_its_one_signature() -> None:
    defined = {name: inspect.signature(function) for name, function in vars(calls).items()
               if inspect.isgeneratorfunction(function) and not name.startswith("_")}
    sync, asynchronous = _public(EmulatorControl), _public(AsyncEmulatorControl)
    assert set(sync) == set(asynchronous) == set(defined)
    for name, signature in defined.items():
        assert list(sync[name].parameters)[1:] == list(signature.parameters)
        assert sync[name] == asynchronous[name]


async def test_clock_log_keys_and_dlq(call: Call, server: EmulatorServer, token: str) -> None:
    assert (await call("health"))["status"] == "ok"
    before = await call("now_ms")
    assert await call("advance", 10) == before + 10_000
    keys = derived_keys(token)
    assert await call("signing_keys") == (keys.current, keys.next)
    with Endpoint() as endpoint:
        fault = await call("add_fault", endpoint.url, statuses=[500])
        result = QStash(token, base_url=server.url, retry=False).message.publish_json(
            url=endpoint.url, body={}, retries=0)
        await call("advance", 0)
        await call("remove_fault", fault)
    assert [d["status"] for d in await call("deliveries", result.message_id)] == [500]
    assert await call("dlq_count") == 1
    assert await call("flow_controls") == []


async def test_quota_calls(call: Call) -> None:
    assert (await call("set_quota", daily=2, burst=None))["daily"]["limit"] == 2
    assert (await call("exhaust_quota", "daily"))["daily"]["remaining"] == 0
    assert (await call("reset_quota"))["daily"]["used"] == 0
    assert (await call("quota"))["daily"]["remaining"] == 2


async def test_outage_calls(call: Call) -> None:
    started = await call("start_outage", "error", status=503, paths=["/v2/publish"])
    assert (started["mode"], started["status"], started["paths"]) == ("error", 503, ["/v2/publish"])
    assert [o["mode"] for o in await call("outages")] == ["error"]
    await call("end_outage")
    assert await call("outages") == []


async def test_fault_calls(call: Call) -> None:
    first = await call("add_fault", "http://127.0.0.1:9/a*", statuses=[500])
    second = await call("add_fault", "http://127.0.0.1:9/b", timeout=True)
    assert [rule["id"] for rule in await call("faults")] == [first, second]
    await call("remove_fault", first)
    assert [rule["id"] for rule in await call("faults")] == [second]
    await call("clear_faults")
    assert await call("faults") == []


async def test_a_refused_call_raises_one_error_type(call: Call) -> None:
    with pytest.raises(ControlError) as refused:
        await call("exhaust_quota", "weekly")
    assert (refused.value.status, refused.value.path) == (400, "/__emulator__/quota/exhaust")
    assert refused.value.error == 'invalid body: want {"window": "daily"} or {"window": "monthly"}'
    with pytest.raises(ControlError) as missing:
        await call("remove_fault", "no-such-rule")
    assert missing.value.status == 404
    assert not isinstance(missing.value, FeatureUnavailable)


def _not_found(request: RecordedRequest) -> tuple[int, dict[str, str], str]:
    return 404, {}, "Not Found"


async def test_an_emulator_without_a_feature_says_which() -> None:
    with Endpoint() as older:
        older.set_handler(_not_found)
        async with AsyncEmulatorControl(older.url) as control:
            with pytest.raises(FeatureUnavailable, match="it lacks outages"):
                await control.start_outage("reset")
            with pytest.raises(FeatureUnavailable, match="no /v2/flowControl API"):
                await control.flow_controls()
            assert not await control.supports_harness()


def test_all_tenants_and_the_token_reach_the_wire() -> None:
    with Endpoint() as fake, EmulatorControl(fake.url, token="tok", admin_token="adm") as control:
        fake.set_handler(lambda request: (200, {}, '{"faults": [], "deliveries": []}'))
        control.reset(all_tenants=True)
        control.faults(all_tenants=True)
        control.remove_fault("f1")
        control.deliveries("m1", all_tenants=True)
    assert [(r.method, r.path, r.query) for r in fake.requests] == [
        ("POST", "/__emulator__/reset", "all=true"),
        ("GET", "/__emulator__/faults", "all=true"),
        ("DELETE", "/__emulator__/faults/f1", ""),
        ("GET", "/__emulator__/deliveries", "all=true&messageId=m1"),
    ]
    assert [r.header("authorization") for r in fake.requests] == [
        "Bearer adm", "Bearer adm", "Bearer tok", "Bearer adm"]


def test_both_tokens_default_to_the_dev_users() -> None:
    with Endpoint() as fake, EmulatorControl(fake.url) as control:
        fake.set_handler(lambda request: (200, {}, '{"faults": []}'))
        control.faults()
        control.faults(all_tenants=True)
    assert {r.header("authorization") for r in fake.requests} == {f"Bearer {DEFAULT_TOKEN}"}
