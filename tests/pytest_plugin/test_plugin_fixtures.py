"""Downstream test files using each fixture, run by pytester with and without `-n 2`."""

from __future__ import annotations

import sys

import pytest

pytest_plugins = ["pytester"]

PUBLIC_FIXTURES = (
    "qstash_tenant", "qstash_emulator", "qstash_app", "qstash_settings", "qstash_client",
    "qstash_async_client",
    "qstash_receiver", "qstash_env", "qstash_endpoint", "qstash_clock", "qstash_quota",
    "qstash_faults", "qstash_outage", "qstash_workflow",
)
XDIST = [pytest.param([], id="serial"), pytest.param(["-n", "2"], id="xdist")]

FIXTURES = '''
import os
from datetime import UTC, datetime, timedelta

import sys

import pytest
from qstash import QStash

SEEN_TOKENS = []


@pytest.fixture
def anyio_backend():
    # anyio runs each async test once per installed backend unless told which one
    return "asyncio"


def test_publish_receive_verify(qstash_client, qstash_endpoint, qstash_receiver, qstash_tenant):
    qstash_client.message.publish_json(url=qstash_endpoint.url_for("/hook"), body={"a": 1})
    request = qstash_endpoint.wait_for(1)[0]
    assert request.signature_valid is True
    qstash_receiver.verify(signature=request.header("Upstash-Signature"),
                           body=request.text, url=request.url)
    SEEN_TOKENS.append(qstash_tenant.token)


@pytest.mark.anyio
async def test_async_client(qstash_async_client, qstash_endpoint):
    await qstash_async_client.message.publish(url=qstash_endpoint.url_for("/a"), body="async")
    qstash_endpoint.wait_for(1)
    qstash_endpoint.assert_delivered(body="async", path="/a")


def test_env_is_set_for_code_that_reads_it(qstash_env, qstash_endpoint, qstash_tenant):
    assert os.environ["QSTASH_URL"] == qstash_tenant.url
    assert os.environ["QSTASH_TOKEN"] == qstash_tenant.token
    assert os.environ["QSTASH_CURRENT_SIGNING_KEY"] == qstash_tenant.current_signing_key
    assert os.environ["QSTASH_NEXT_SIGNING_KEY"] == qstash_tenant.next_signing_key
    QStash(os.environ["QSTASH_TOKEN"], retry=False).message.publish(
        url=qstash_endpoint.url_for("/env"), body="from env")
    qstash_endpoint.assert_delivered(body="from env", timeout=5)


def test_each_test_has_its_own_tenant(qstash_client, qstash_tenant):
    assert qstash_tenant.token not in SEEN_TOKENS
    assert qstash_client.log.list().logs == []


def test_clock(qstash_client, qstash_endpoint, qstash_clock):
    qstash_client.message.publish(url=qstash_endpoint.url_for("/later"), body="x", delay="2h")
    start = qstash_clock.now()
    assert start.tzinfo is not None
    assert qstash_clock.advance(3599) == start + timedelta(seconds=3599)
    assert qstash_endpoint.requests == []
    qstash_clock.advance_to(start + timedelta(hours=2))
    qstash_endpoint.assert_delivered(body="x", timeout=5)
    with pytest.raises(ValueError):
        qstash_clock.advance_to(datetime(2000, 1, 1, tzinfo=UTC))


def test_near_misses_are_listed(qstash_client, qstash_endpoint):
    qstash_client.message.publish(url=qstash_endpoint.url_for("/n"), body="actual body")
    qstash_endpoint.wait_for(1)
    qstash_endpoint.assert_delivered(body="wanted body")
'''


@pytest.mark.parametrize("args", XDIST)
def test_every_fixture_downstream(downstream: pytest.Pytester, args: list[str]) -> None:
    downstream.makepyfile(test_downstream=FIXTURES)
    result = downstream.runpytest_subprocess(*args)
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(["*body differs: got b'actual body' want b'wanted body'*"])


FREEZEGUN = '''
import time
from datetime import UTC, datetime

from freezegun import freeze_time


def _verified(endpoint, receiver):
    request = endpoint.wait_for(1)[0]
    receiver.verify(signature=request.header("Upstash-Signature"), body=request.text,
                    url=request.url)
    return request


@freeze_time("2020-02-02 10:00:00")
def test_frozen_in_the_past(qstash_client, qstash_endpoint, qstash_receiver, qstash_clock):
    assert qstash_clock.now() == datetime(2020, 2, 2, 10, tzinfo=UTC)
    qstash_client.message.publish(url=qstash_endpoint.url_for("/p"), body="past",
                                  not_before=int(time.time()) + 60)
    qstash_clock.advance(59)
    assert qstash_endpoint.requests == []
    qstash_clock.advance(1)
    _verified(qstash_endpoint, qstash_receiver)


def test_frozen_in_the_future_moves_with_the_emulator(
        qstash_client, qstash_endpoint, qstash_receiver, qstash_clock):
    with freeze_time("2040-05-05 00:00:00") as frozen:
        qstash_client.message.publish(url=qstash_endpoint.url_for("/f"), body="future",
                                      delay="1d")
        qstash_clock.advance(86400)
        assert datetime.now() == datetime(2040, 5, 6)
        _verified(qstash_endpoint, qstash_receiver)
        frozen.tick(120)
        assert qstash_clock.now() == datetime(2040, 5, 6, 0, 2, tzinfo=UTC)


def test_ticking_freeze(qstash_client, qstash_endpoint, qstash_receiver):
    with freeze_time("2031-03-03", tick=True):
        qstash_client.message.publish(url=qstash_endpoint.url_for("/t"), body="tick")
        _verified(qstash_endpoint, qstash_receiver)
'''


@pytest.mark.parametrize("args", XDIST)
def test_freezegun_frozen_tests_receive_verifiable_deliveries(
    downstream: pytest.Pytester, args: list[str]
) -> None:
    downstream.makepyfile(test_frozen=FREEZEGUN)
    downstream.runpytest_subprocess(*args).assert_outcomes(passed=3)


APPS = '''
import warnings

import httpx
import pytest


def wsgi_app(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    RECEIVED.append((environ["PATH_INFO"], body, environ.get("HTTP_UPSTASH_MESSAGE_ID")))
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Wsgi", "yes")])
    return [b"wsgi ok"]


async def asgi_app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-asgi", b"yes")]})
    await send({"type": "http.response.body", "body": b"asgi ok"})


RECEIVED = []


def test_deliveries_reach_a_served_wsgi_app(qstash_app, qstash_client, qstash_clock,
                                            qstash_tenant):
    base_url = qstash_app(wsgi_app)
    assert base_url.startswith("http://127.0.0.1:")
    result = qstash_client.message.publish(url=f"{base_url}/hook", body="to wsgi")
    qstash_clock.advance(1)
    assert RECEIVED == [("/hook", b"to wsgi", result.message_id)]
    [delivery] = qstash_tenant.control.deliveries(result.message_id)
    assert delivery["responseHeaders"]["x-wsgi"] == "yes"  # as uvicorn sent it


def test_an_asgi_app_and_a_second_one(qstash_app):
    first, second = qstash_app(asgi_app), qstash_app(asgi_app)
    assert first != second
    assert httpx.get(first).text == httpx.get(second).text == "asgi ok"


def test_the_old_fixture_name_still_works_and_warns(request):
    with pytest.warns(DeprecationWarning, match="qstash_tenant"):
        tenant = request.getfixturevalue("qstash_emulator")
    assert tenant is request.getfixturevalue("qstash_tenant")
'''


@pytest.mark.parametrize("args", XDIST)
def test_apps_are_served_and_the_old_fixture_name_warns(
    downstream: pytest.Pytester, args: list[str]
) -> None:
    downstream.makepyfile(test_apps=APPS)
    downstream.runpytest_subprocess(*args).assert_outcomes(passed=3)


def test_app_interfaces_are_told_apart() -> None:
    from pytest_qstash.apps import app_interface

    class Wsgi:
        def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
            return []

    class Asgi:
        async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
            return None

    async def asgi_function(scope, receive, send):  # type: ignore[no-untyped-def]
        return None

    assert app_interface(Wsgi()) == "wsgi"
    assert app_interface(Asgi()) == app_interface(asgi_function) == "auto"
    assert app_interface(Asgi(), "wsgi") == "wsgi"
    assert app_interface(Wsgi(), "asgi") == "auto"


NOTHING_STARTED = '''
import sys
import threading


def test_plugin_starts_nothing_when_unused():
    assert "qstash_emulator" not in sys.modules
    assert "uvicorn" not in sys.modules
    assert not [t for t in threading.enumerate() if t.name.startswith("ServerThread")]
'''


def test_the_plugin_does_nothing_unless_a_fixture_is_used(downstream: pytest.Pytester) -> None:
    downstream.makepyfile(test_idle=NOTHING_STARTED)
    listing = downstream.runpytest_subprocess("--fixtures").stdout.str()
    for name in PUBLIC_FIXTURES:
        assert f"\n{name} -- " in listing
    downstream.runpytest_subprocess().assert_outcomes(passed=1)


def test_importing_the_plugin_imports_nothing_heavy(downstream: pytest.Pytester) -> None:
    probe = (
        "import sys, pytest\n"
        "before = set(sys.modules)\n"
        "import pytest_qstash.plugin\n"
        "print(sorted(set(sys.modules) - before))\n"
    )
    result = downstream.run(sys.executable, "-c", probe)
    added = result.stdout.str().strip()
    assert added == "['pytest_qstash', 'pytest_qstash.options', 'pytest_qstash.plugin']"
