"""Downstream tests of the harness fixtures, the marker's quota and faults, and the example
files (which docs/plugin.md shows verbatim). Tests that need the emulator's quota/outage/fault API
are skipped only while it answers 404 for it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_qstash.server import EmulatorServer

pytest_plugins = ["pytester"]

ROOT = Path(__file__).parents[2]
EXAMPLES = Path(__file__).parent / "examples"
XDIST = [pytest.param([], id="serial"), pytest.param(["-n", "2"], id="xdist")]
HARNESS_EXAMPLES = ("test_quota_exhaustion.py", "test_fallback.py", "test_idempotency.py")


def _copy_examples(downstream: pytest.Pytester, names: list[str]) -> None:
    for name in names:
        downstream.makepyfile(**{name[:-3]: (EXAMPLES / name).read_text()})


def test_the_plugin_page_shows_each_example_file_verbatim() -> None:
    page = (ROOT / "docs" / "plugin.md").read_text()
    shown = re.findall(r"```py\n(.*?)```", page, flags=re.S)
    files = sorted(EXAMPLES.glob("test_*.py"))
    assert len(files) == 5
    assert sorted(shown) == sorted(path.read_text() for path in files)
    for path in files:
        assert f"`tests/{path.name}`" in page


@pytest.mark.parametrize("args", XDIST)
def test_signed_delivery_example(downstream: pytest.Pytester, args: list[str]) -> None:
    _copy_examples(downstream, ["test_signed_delivery.py"])
    downstream.runpytest_subprocess(*args).assert_outcomes(passed=2)


@pytest.mark.parametrize("args", XDIST)
def test_real_app_example(downstream: pytest.Pytester, args: list[str]) -> None:
    _copy_examples(downstream, ["test_real_app.py"])
    downstream.runpytest_subprocess(*args).assert_outcomes(passed=1)


@pytest.mark.usefixtures("needs_harness")
@pytest.mark.parametrize("args", XDIST)
def test_scenario_examples(downstream: pytest.Pytester, args: list[str]) -> None:
    _copy_examples(downstream, list(HARNESS_EXAMPLES))
    downstream.runpytest_subprocess(*args).assert_outcomes(passed=3)


SWITCHES = '''
import httpx
import pytest
from qstash.errors import DailyMessageLimitExceededError, QStashError, RateLimitExceededError


def publish(client, endpoint, body="x"):
    return client.message.publish(url=endpoint.url_for("/s"), body=body)


def test_quota_set_is_undone(qstash_client, qstash_endpoint, qstash_quota):
    with qstash_quota.set(daily=1):
        publish(qstash_client, qstash_endpoint)
        with pytest.raises(DailyMessageLimitExceededError) as refused:
            publish(qstash_client, qstash_endpoint)
        assert refused.value.limit == "1"
    publish(qstash_client, qstash_endpoint)
    assert qstash_quota.get()


def test_exhaust_monthly_then_reset(qstash_client, qstash_endpoint, qstash_quota):
    qstash_quota.exhaust("monthly")
    with pytest.raises(DailyMessageLimitExceededError):
        publish(qstash_client, qstash_endpoint)
    qstash_quota.reset()
    publish(qstash_client, qstash_endpoint)


@pytest.mark.qstash(daily_quota=2)
def test_marker_daily_quota(qstash_client, qstash_endpoint):
    publish(qstash_client, qstash_endpoint)
    publish(qstash_client, qstash_endpoint)
    with pytest.raises(DailyMessageLimitExceededError):
        publish(qstash_client, qstash_endpoint)


@pytest.mark.qstash(burst_rate=1)
def test_marker_burst_rate(qstash_client):
    # publish, enqueue and batch are exempt from QStash's burst limit; listings are not
    with pytest.raises(RateLimitExceededError):
        for _ in range(20):
            qstash_client.dlq.list()


@pytest.mark.qstash(faults=[{"match": "*/flaky", "statuses": [500]}])
def test_marker_faults(qstash_client, qstash_endpoint, qstash_clock):
    qstash_client.message.publish(url=qstash_endpoint.url_for("/flaky"), body="f")
    qstash_clock.advance(3600)
    delivered = qstash_endpoint.wait_for(1, path="/flaky")
    assert delivered[-1].header("Upstash-Retried") == "1"


def test_outage_modes(qstash_client, qstash_tenant, qstash_endpoint, qstash_outage):
    with qstash_outage("error", status=500):
        with pytest.raises(QStashError, match="500"):
            publish(qstash_client, qstash_endpoint)
    with qstash_outage("reset"):
        with pytest.raises(httpx.TransportError):
            publish(qstash_client, qstash_endpoint)
    with qstash_outage("error", status=503, count=1):
        with pytest.raises(QStashError, match="503"):
            publish(qstash_client, qstash_endpoint)
        publish(qstash_client, qstash_endpoint)
    publish(qstash_client, qstash_endpoint, body="after")
    qstash_endpoint.assert_delivered(body="after", timeout=5)


def test_faults_fixture(qstash_client, qstash_endpoint, qstash_faults, qstash_clock):
    url = qstash_endpoint.url_for("/chaos")
    # injected answers never reach the endpoint; after the list, the real destination answers
    with qstash_faults.add(url, statuses=[500, 500]) as rule:
        assert [f["id"] for f in qstash_faults.list()] == [rule.value]
        qstash_client.message.publish(url=url, body="c")
        qstash_clock.advance(3600)
        assert qstash_endpoint.wait_for(1)[-1].header("Upstash-Retried") == "2"
    assert qstash_faults.list() == []
'''


@pytest.mark.usefixtures("needs_harness")
@pytest.mark.parametrize("args", XDIST)
def test_harness_fixtures_and_marker(downstream: pytest.Pytester, args: list[str]) -> None:
    downstream.makepyfile(test_switches=SWITCHES)
    downstream.runpytest_subprocess(*args).assert_outcomes(passed=7)


SHARED_QUOTA = '''
import pytest
from qstash.errors import DailyMessageLimitExceededError


@pytest.mark.parametrize("n", range(6))
@pytest.mark.qstash(daily_quota=2)
def test_each_test_has_its_own_quota(n, qstash_client, qstash_endpoint):
    for _ in range(2):
        qstash_client.message.publish(url=qstash_endpoint.url_for("/q"), body=str(n))
    with pytest.raises(DailyMessageLimitExceededError):
        qstash_client.message.publish(url=qstash_endpoint.url_for("/q"), body=str(n))
'''


@pytest.mark.usefixtures("needs_harness")
def test_two_workers_on_one_external_emulator_have_separate_quotas(
    downstream: pytest.Pytester, server: EmulatorServer
) -> None:
    downstream.makepyfile(test_shared_quota=SHARED_QUOTA)
    result = downstream.runpytest_subprocess("-n", "2", "--qstash-url", server.url)
    result.assert_outcomes(passed=6)
