"""The usage monitor and alerts, and fallback episodes on the plugin's virtual clock."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from pytest_qstash import EmulatorClock, Endpoint, Tenant
from qstash_queue import (
    Alert,
    AlertEvent,
    RedisStatusStore,
    RequestQueue,
    UsageOptions,
)
from qstash_queue.alerts import AlertSink
from qstash_queue.status import MemoryStatusStore
from qstash_queue.usage import UsageMonitor


def _queue(tenant: Tenant, clock: EmulatorClock, alerts: list[Alert], **options: object
           ) -> RequestQueue:
    return RequestQueue(qstash_token=tenant.token, base_url=tenant.url, clock=clock.time,
                        on_alert=alerts.append, signing_keys=tenant.keys,
                        **options)  # type: ignore[arg-type]


def _events(alerts: list[Alert]) -> list[str]:
    return [alert.event.value for alert in alerts]


@pytest.mark.qstash(daily_quota=2)
def test_advancing_the_plugin_clock_a_day_ends_a_fallback_episode(
    qstash_tenant: Tenant, qstash_clock: EmulatorClock, qstash_endpoint: Endpoint,
) -> None:
    alerts: list[Alert] = []
    url = qstash_endpoint.url_for("/j")
    with _queue(qstash_tenant, qstash_clock, alerts) as queue:
        before = [queue.enqueue(f"k{n}", endpoint=url, payload={}).backend for n in range(4)]
        started_day = queue.usage().day
        qstash_clock.advance(60)  # the probe is due, but the quota is still used up
        probed = queue.enqueue("probe", endpoint=url, payload={}).backend
        qstash_clock.advance(86400)  # past midnight: the emulator's daily quota is back
        after = queue.enqueue("next-day", endpoint=url, payload={})
        usage = queue.usage()
        stats = queue.stats()
    assert before == ["qstash", "qstash", "memory", "memory"] and probed == "memory"
    assert after.backend == "qstash" and after.message_id
    assert stats["fallback_episodes"] == 1 and stats["fallback_active"] is False
    assert _events(alerts) == ["qstash_fallback_started", "qstash_fallback_ended"]
    ended = alerts[1].details
    assert ended["jobs"] == 3 and ended["reason"] == "quota" and ended["job_id"] == after.job_id
    assert ended["duration_s"] == pytest.approx(86460, abs=5)
    assert usage.day != started_day and usage.daily_used == 1
    assert usage.daily_limit == 2  # learned from QStash's quota refusal
    assert usage.monthly_used == 3 or usage.month != started_day[:7]


def test_threshold_alerts_fire_once_each(
    qstash_tenant: Tenant, qstash_clock: EmulatorClock, qstash_endpoint: Endpoint,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="qstash_queue")
    alerts: list[Alert] = []
    usage = UsageOptions(daily_limit=5, monthly_limit=1000)
    with _queue(qstash_tenant, qstash_clock, alerts, usage=usage) as queue:
        for n in range(6):
            queue.enqueue(f"k{n}", endpoint=qstash_endpoint.url_for("/j"), payload={})
        stats = queue.stats()
    assert [(a.details["threshold"], a.details["used"]) for a in alerts] == [(0.8, 4), (0.95, 5)]
    assert {a.event for a in alerts} == {AlertEvent.USAGE_THRESHOLD}
    assert alerts[0].details["window"] == "daily" and alerts[0].details["limit"] == 5
    assert "4/5 (80%)" in alerts[0].message
    records = [r for r in caplog.records if r.name == "qstash_queue.usage"]
    assert [r.alert["threshold"] for r in records] == [0.8, 0.95]  # type: ignore[attr-defined]
    assert all(r.levelno == logging.WARNING for r in records)
    assert records[0].alert["event"] == "qstash_usage_threshold"  # type: ignore[attr-defined]
    assert stats["usage_daily_used"] == 6 and stats["usage_daily_limit"] == 5
    assert stats["usage_monthly_limit"] == 1000


def test_instances_sharing_a_redis_store_count_together_and_alert_once(
    qstash_tenant: Tenant, qstash_clock: EmulatorClock, qstash_endpoint: Endpoint,
    redis_url: str, prefix: str,
) -> None:
    alerts: list[Alert] = []
    options = {"usage": UsageOptions(daily_limit=4, thresholds=(0.5,))}
    stores = [RedisStatusStore(redis_url, prefix=prefix) for _ in range(2)]
    first = _queue(qstash_tenant, qstash_clock, alerts, status_store=stores[0], **options)
    second = _queue(qstash_tenant, qstash_clock, alerts, status_store=stores[1], **options)
    url = qstash_endpoint.url_for("/j")
    first.enqueue("a", endpoint=url, payload={})
    second.enqueue("b", endpoint=url, payload={})
    first.enqueue("c", endpoint=url, payload={})
    assert second.usage().daily_used == 3 and first.usage().daily_used == 3
    assert [a.details["used"] for a in alerts] == [2]
    for queue, store in zip((first, second), stores, strict=True):
        queue.close()
        store.close()


def test_a_failing_alert_handler_never_costs_an_enqueue(
    qstash_tenant: Tenant, qstash_clock: EmulatorClock, qstash_endpoint: Endpoint,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(alert: Alert) -> None:
        raise RuntimeError("pager down")

    queue = RequestQueue(qstash_token=qstash_tenant.token, base_url=qstash_tenant.url,
                         on_alert=broken, usage=UsageOptions(daily_limit=1))
    with queue:
        job = queue.enqueue("k", endpoint=qstash_endpoint.url_for("/j"), payload={})
    assert job.backend == "qstash"
    assert any("on_alert handler failed" in r.getMessage() for r in caplog.records)


def test_the_window_of_a_learned_limit_comes_from_its_reset() -> None:
    now = datetime(2030, 5, 14, 15, 0, tzinfo=UTC)
    store = MemoryStatusStore()
    monitor = UsageMonitor(store, UsageOptions(), lambda: now.timestamp(), AlertSink())
    midnight = datetime(2030, 5, 15, tzinfo=UTC)
    monitor.learn_limit("500", str(int(midnight.timestamp())))
    monitor.learn_limit("9000", str(int((midnight + timedelta(days=17)).timestamp())))
    monitor.learn_limit("not a number", None)
    usage = monitor.usage()
    assert (usage.day, usage.month) == ("2030-05-14", "2030-05")
    assert (usage.daily_limit, usage.monthly_limit) == (500, 9000)
    assert (usage.daily_used, usage.monthly_used) == (0, 0)
