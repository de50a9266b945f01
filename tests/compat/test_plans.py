"""Every limit of the free plan, enforced over HTTP on an emulator started with `plan="free"`
(as `qstash-emulator --plan free` does), and reported the same by `GET /__emulator__/quota`."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from qstash import QStash
from qstash.errors import DailyMessageLimitExceededError, QStashError, RateLimitExceededError

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint
from pytest_qstash.server import EmulatorServer
from qstash_emulator.core.plans import PLANS

FREE = PLANS["free"]
NOWHERE = "http://127.0.0.1:9/x"


@pytest.fixture(scope="module")
def free() -> Iterator[EmulatorServer]:
    with EmulatorServer(clock="virtual", any_token=True, plan="free") as running:
        yield running


@pytest.fixture
def user(free: EmulatorServer, token: str) -> Iterator[QStash]:
    yield QStash(token, base_url=free.url, retry=False)
    with EmulatorControl(free.url, token) as control:
        control.reset()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_quota_report_lists_the_limits_enforced(free: EmulatorServer, token: str) -> None:
    with EmulatorControl(free.url, token) as control:
        report = control.quota()
    assert report["plan"] == "free"
    limits = report["limits"]
    assert (limits["queues"], limits["schedules"], limits["url_groups"]) == (10, 10, 1)
    assert (limits["parallelism"], limits["daily"], limits["burst"]) == (2, 1000, 100)


def test_the_eleventh_queue_and_parallelism_above_the_plan_answer_412(
    free: EmulatorServer, user: QStash
) -> None:
    with pytest.raises(QStashError, match="412") as above:
        user.queue.upsert("wide", parallelism=5)
    assert "parallelism 5 exceeds the plan maximum of 2" in str(above.value)
    for n in range(FREE.queues or 0):
        user.queue.upsert(f"q{n}", parallelism=2)
    with pytest.raises(QStashError, match="412") as eleventh:
        user.queue.upsert("q10")
    assert json.loads(str(eleventh.value).split("body: ", 1)[1]) == {
        "error": "queue limit reached: the plan allows 10 queues"}
    with pytest.raises(QStashError, match="412"):
        user.message.enqueue(queue="q-new", url=NOWHERE, body="x")
    assert len(user.queue.list()) == 10


def test_the_eleventh_schedule_answers_412(user: QStash) -> None:
    for n in range(FREE.schedules or 0):
        user.schedule.create(destination=NOWHERE, cron="0 0 1 1 *", schedule_id=f"s{n}")
    with pytest.raises(QStashError, match="412") as refused:
        user.schedule.create(destination=NOWHERE, cron="0 0 1 1 *")
    assert "too many schedules: the free plan allows 10" in str(refused.value)


def test_a_second_url_group_and_too_many_endpoints_answer_412(user: QStash) -> None:
    endpoints = [{"url": f"http://127.0.0.1:9/e{n}"} for n in range(FREE.endpoints_per_url_group
                                                                     or 0)]
    user.url_group.upsert_endpoints(url_group="one", endpoints=endpoints)  # type: ignore[arg-type]
    with pytest.raises(QStashError, match="412"):
        user.url_group.upsert_endpoints(url_group="one", endpoints=[{"url": "http://x/101"}])
    with pytest.raises(QStashError, match="412") as second:
        user.url_group.upsert_endpoints(url_group="two", endpoints=[{"url": NOWHERE}])
    assert "too many url groups: the free plan allows 1" in str(second.value)


def test_body_delay_retries_and_timeout_follow_the_plan(
    free: EmulatorServer, user: QStash, token: str
) -> None:
    with pytest.raises(QStashError, match="413"):
        user.message.publish(url=NOWHERE, body="x" * ((FREE.max_body_bytes or 0) + 1))
    with pytest.raises(QStashError, match=r"400.*delay exceeds the plan's maximum"):
        user.message.publish(url=NOWHERE, body="x", delay="8d")
    capped = user.message.publish(url=NOWHERE, body="x", retries=10, timeout="1h", delay="7d")
    assert user.message.get(capped.message_id).max_retries == FREE.max_retries
    logs = httpx.get(f"{free.url}/v2/logs", params={"messageId": capped.message_id},
                     headers=_auth(token)).json()["events"]
    assert {event["timeout"] for event in logs} == {FREE.max_timeout_s}


def test_the_daily_quota_and_the_burst_limit_answer_429(
    free: EmulatorServer, user: QStash, token: str
) -> None:
    batch = [{"url": NOWHERE, "body": "x", "delay": "1d"}] * (FREE.daily or 0)
    assert len(user.message.batch(batch)) == FREE.daily  # type: ignore[arg-type]
    with pytest.raises(DailyMessageLimitExceededError) as daily:
        user.message.publish(url=NOWHERE, body="one too many")
    assert daily.value.limit == str(FREE.daily)
    answers = [httpx.get(f"{free.url}/v2/queues", headers=_auth(token)).status_code
               for _ in range((FREE.burst or 0) + 1)]
    assert answers.count(429) == 1 and answers[-1] == 429
    with pytest.raises(RateLimitExceededError):
        user.queue.list()


def test_a_plain_emulator_is_on_pay_as_you_go(endpoint: Endpoint, client: QStash) -> None:
    for n in range(11):
        client.queue.upsert(f"q{n}", parallelism=5)
    assert len(client.queue.list()) == 11
