"""Quotas and the burst limit as the official SDK sees them, and the quota control API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from qstash import QStash
from qstash.errors import DailyMessageLimitExceededError, QStashError, RateLimitExceededError
from qstash.log import LogState

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint
from pytest_qstash.server import EmulatorServer
from qstash_emulator.cli import settings_from_args
from qstash_emulator.core.tenants import tenant_id
from qstash_emulator.settings import Settings

DAY_S = 86_400


def next_midnight_s(now_ms: int) -> int:
    return (now_ms // 1000 // DAY_S + 1) * DAY_S


def next_month_s(now_ms: int) -> int:
    moment = datetime.fromtimestamp(now_ms / 1000, UTC)
    year, month = divmod(moment.year * 12 + moment.month, 12)
    return int(datetime(year, month + 1, 1, tzinfo=UTC).timestamp())


def test_daily_limit_raises_the_sdk_error_and_midnight_restores_it(
    client: QStash, control: EmulatorControl, endpoint: Endpoint
) -> None:
    control.set_quota(daily=3)
    for i in range(3):
        client.message.publish(url=endpoint.url, body=str(i))
    with pytest.raises(DailyMessageLimitExceededError) as raised:
        client.message.publish(url=endpoint.url, body="4th")
    now_ms = control.now_ms()
    reset = next_midnight_s(now_ms)
    assert (raised.value.limit, raised.value.remaining, raised.value.reset) == (
        "3", "0", str(reset))
    assert control.quota()["daily"] == {"limit": 3, "used": 3, "remaining": 0, "reset": reset}
    control.advance(reset - now_ms / 1000 - 1)
    with pytest.raises(DailyMessageLimitExceededError):
        client.message.publish(url=endpoint.url, body="still today")
    control.advance(1.001)
    client.message.publish(url=endpoint.url, body="tomorrow")
    assert control.quota()["daily"]["used"] == 1
    assert len(endpoint.wait_for(4)) == 4, "the refused messages were never accepted"


def test_monthly_limit_uses_the_same_headers_and_resets_on_the_first(
    client: QStash, control: EmulatorControl, endpoint: Endpoint
) -> None:
    control.set_quota(monthly=2)
    client.message.publish(url=endpoint.url, body="a")
    client.message.publish(url=endpoint.url, body="b")
    with pytest.raises(DailyMessageLimitExceededError) as raised:
        client.message.publish(url=endpoint.url, body="c")
    now_ms = control.now_ms()
    reset = next_month_s(now_ms)
    assert (raised.value.limit, raised.value.remaining, raised.value.reset) == (
        "2", "0", str(reset))
    midnight = next_midnight_s(now_ms)
    if midnight < reset:
        control.advance(midnight - now_ms / 1000 + 1)
        with pytest.raises(DailyMessageLimitExceededError):
            client.message.publish(url=endpoint.url, body="next day, same month")
    control.advance(reset - control.now_ms() / 1000 + 1)
    client.message.publish(url=endpoint.url, body="next month")


def test_successful_publishes_carry_ratelimit_headers_when_a_limit_is_set(
    server: EmulatorServer, token: str, control: EmulatorControl, endpoint: Endpoint
) -> None:
    url = f"{server.url}/v2/publish/{endpoint.url}"
    auth = {"Authorization": f"Bearer {token}"}
    assert "RateLimit-Limit" not in httpx.post(url, headers=auth, content=b"x").headers
    control.set_quota(daily=10)
    answer = httpx.post(url, headers=auth, content=b"x")
    assert answer.status_code == 200
    assert (answer.headers["RateLimit-Limit"], answer.headers["RateLimit-Remaining"]) == (
        "10", "8")
    assert answer.headers["RateLimit-Reset"] == str(next_midnight_s(control.now_ms()))
    batch = httpx.post(f"{server.url}/v2/batch", headers=auth,
                       json=[{"destination": endpoint.url, "body": "b"}])
    assert batch.headers["RateLimit-Remaining"] == "7"


def test_burst_limit_raises_rate_limit_error_without_daily_headers(
    server: EmulatorServer, token: str, client: QStash, control: EmulatorControl,
    endpoint: Endpoint,
) -> None:
    control.set_quota(burst=2)
    client.dlq.list()
    client.log.list()
    with pytest.raises(RateLimitExceededError) as raised:
        client.dlq.list()
    now_s = control.now_ms() // 1000
    assert (raised.value.limit, raised.value.remaining, raised.value.reset) == (
        "2", "0", str(now_s + 1))
    raw = httpx.get(f"{server.url}/v2/logs", headers={"Authorization": f"Bearer {token}"})
    assert raw.status_code == 429
    assert "RateLimit-Limit" not in raw.headers and raw.headers["Burst-RateLimit-Limit"] == "2"
    assert "error" in raw.json()
    for i in range(4):
        client.message.publish(url=endpoint.url, body=str(i))  # publishing is exempt
    control.advance(1)
    client.dlq.list()


def test_a_batch_that_does_not_fit_is_refused_whole(
    client: QStash, control: EmulatorControl, endpoint: Endpoint
) -> None:
    control.set_quota(daily=3)
    client.message.publish(url=endpoint.url, body="first")
    three = [{"url": endpoint.url, "body": str(i)} for i in range(3)]
    with pytest.raises(DailyMessageLimitExceededError) as raised:
        client.message.batch(three)
    assert raised.value.remaining == "2"
    assert control.quota()["daily"]["used"] == 1
    assert len(client.log.list(filter={"state": LogState.CREATED}).logs) == 1
    assert len(client.message.batch(three[:2])) == 2
    assert control.quota()["daily"]["remaining"] == 0


def test_exhaust_then_reset(client: QStash, control: EmulatorControl, endpoint: Endpoint) -> None:
    client.message.publish(url=endpoint.url, body="a")
    control.exhaust_quota("daily")
    with pytest.raises(DailyMessageLimitExceededError) as raised:
        client.message.publish(url=endpoint.url, body="b")
    assert (raised.value.limit, raised.value.remaining) == ("1", "0")
    control.reset_quota()
    client.message.publish(url=endpoint.url, body="c")
    control.exhaust_quota("monthly")
    with pytest.raises(DailyMessageLimitExceededError) as monthly:
        client.message.publish(url=endpoint.url, body="d")
    assert monthly.value.reset == str(next_month_s(control.now_ms()))


def test_quota_view(control: EmulatorControl) -> None:
    view = control.set_quota(daily=5, burst=9)
    assert view["plan"] == "payg"
    assert view["daily"]["limit"] == 5 and view["burst"]["limit"] == 9
    assert view["monthly"] == {"limit": None, "used": 0, "remaining": None,
                               "reset": next_month_s(control.now_ms())}
    assert view["limits"]["max_retries"] == 5 and view["limits"]["parallelism"] == 100
    lifted = control.set_quota(daily=None, plan="free")
    assert lifted["daily"]["limit"] is None and lifted["plan"] == "free"
    assert lifted["limits"]["max_body_bytes"] == 1024**2


@pytest.mark.parametrize(("method", "path", "body"), [
    ("PUT", "quota", {"daily": "three"}),
    ("PUT", "quota", {"daily": -1}),
    ("PUT", "quota", {"plan": "platinum"}),
    ("PUT", "quota", {"hourly": 3}),
    ("PUT", "quota", [1, 2]),
    ("PUT", "quota", "{not json"),
    ("POST", "quota/exhaust", {"window": "weekly"}),
])
def test_bad_quota_calls_answer_400(
    server: EmulatorServer, token: str, control: EmulatorControl, method: str, path: str,
    body: object,
) -> None:
    content = body if isinstance(body, str) else json.dumps(body)
    answer = httpx.request(method, f"{server.url}/__emulator__/{path}", content=content,
                           headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 400
    assert answer.json()["error"]
    assert control.quota()["daily"]["limit"] is None


def test_free_plan_limits_at_publish(
    client: QStash, control: EmulatorControl, endpoint: Endpoint, server: EmulatorServer,
    token: str,
) -> None:
    control.set_quota(plan="free")
    with pytest.raises(QStashError, match="413"):
        client.message.publish(url=endpoint.url, body="x" * (1024**2 + 1))
    with pytest.raises(QStashError, match=r"400.*upstash-delay"):
        client.message.publish(url=endpoint.url, body="x", delay="8d")
    capped = client.message.publish(url=endpoint.url, body="x", retries=10, timeout="1h")
    assert client.message.get(capped.message_id).max_retries == 3
    logs = httpx.get(f"{server.url}/v2/logs", params={"messageId": capped.message_id},
                     headers={"Authorization": f"Bearer {token}"}).json()["events"]
    assert {event["timeout"] for event in logs} == {900}
    client.message.publish(url=endpoint.url, body="x", delay="7d")


def test_settings_from_flags_and_environment() -> None:
    flags = settings_from_args(["--plan", "free", "--daily-quota", "5", "--monthly-quota", "9",
                                "--burst-rate", "3"])
    assert (flags.plan, flags.daily_quota, flags.monthly_quota, flags.burst_rate) == (
        "free", 5, 9, 3)
    env = Settings.from_env({"QSTASH_EMULATOR_PLAN": "fixed-1m",
                             "QSTASH_EMULATOR_DAILY_QUOTA": "7",
                             "QSTASH_EMULATOR_MONTHLY_QUOTA": "70",
                             "QSTASH_EMULATOR_BURST_RATE": "4"})
    assert (env.plan, env.daily_quota, env.monthly_quota, env.burst_rate) == (
        "fixed-1m", 7, 70, 4)
    assert Settings().plan == "payg"
    with pytest.raises(ValueError, match="unknown plan"):
        Settings(plan="gold")
    with pytest.raises(SystemExit):
        settings_from_args(["--plan", "gold"])


@pytest.fixture(scope="module")
def limited() -> Iterator[EmulatorServer]:
    """A private emulator started with quota settings (so ?all=true cannot disturb others)."""
    with EmulatorServer(clock="virtual", any_token=True, daily_quota=2, burst_rate=50) as running:
        yield running


def test_startup_settings_apply_to_every_tenant(limited: EmulatorServer) -> None:
    with Endpoint() as endpoint:
        for name in ("tenant-a", "tenant-b"):
            client = QStash(name, base_url=limited.url, retry=False)
            client.message.publish(url=endpoint.url, body="1")
            client.message.publish(url=endpoint.url, body="2")
            with pytest.raises(DailyMessageLimitExceededError) as raised:
                client.message.publish(url=endpoint.url, body="3")
            assert raised.value.limit == "2"
        with EmulatorControl(limited.url, token="tenant-a") as control:
            assert control.quota()["burst"]["limit"] == 50
            everyone = control.reset_quota(all_tenants=True)
            assert set(everyone["tenants"]) >= {tenant_id("tenant-a"), tenant_id("tenant-b")}
            assert "tenant-a" not in json.dumps(everyone)  # ids, never the tokens
            assert all(t["daily"]["used"] == 0 for t in everyone["tenants"].values())
            control.set_quota(all_tenants=True, daily=1)
            QStash("tenant-c", base_url=limited.url, retry=False).message.publish(
                url=endpoint.url, body="c")
            with pytest.raises(DailyMessageLimitExceededError):
                QStash("tenant-c", base_url=limited.url, retry=False).message.publish(
                    url=endpoint.url, body="c2")
            control.exhaust_quota("daily", all_tenants=True)
            assert control.quota()["daily"]["remaining"] == 0
            control.reset(all_tenants=True)
