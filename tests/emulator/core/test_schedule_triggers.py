"""Schedules, URL groups and plan limits in-process, on a virtual clock with fixed start times."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from qstash_emulator import Emulator, Settings, VirtualClock
from qstash_emulator.core.errors import BadRequest, PreconditionFailed
from qstash_emulator.core.messages.publish import PublishRequest
from qstash_emulator.core.model import DeliveryRequest, Response
from qstash_emulator.core.plans import DEFAULT_PLAN, PLANS
from qstash_emulator.core.schedules.cron import parse_cron
from qstash_emulator.ids import RandomIds
from qstash_emulator.storage.memory import MemoryStore

TENANT = "t"


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


class Recorder:
    def __init__(self) -> None:
        self.requests: list[DeliveryRequest] = []

    async def dispatch(self, request: DeliveryRequest) -> Response:
        self.requests.append(request)
        await asyncio.sleep(0)
        return Response(200)

    async def aclose(self) -> None:
        return None


def make(start_iso: str, plan: str = "payg") -> tuple[Emulator, Recorder]:
    recorder = Recorder()
    emulator = Emulator(
        Settings(clock="virtual", tokens=(TENANT,), plan=plan),
        clock=VirtualClock(start=_ms(start_iso) / 1000),
        store=MemoryStore(),
        dispatcher=recorder,
        ids=RandomIds(seed=3),
    )
    return emulator, recorder


def schedule(emulator: Emulator, cron: str, destination: str = "http://d/x", **headers: str
             ) -> str:
    request = PublishRequest(destination, {"upstash-cron": cron, **headers}, b"b")
    return emulator.service.create_schedule(TENANT, request, None).schedule_id


def test_next_trigger_is_strictly_after_and_respects_the_zone() -> None:
    every5 = parse_cron("*/5 * * * *")
    assert every5.next_after_ms(_ms("2024-01-01T00:00:00")) == _ms("2024-01-01T00:05:00")
    assert every5.next_after_ms(_ms("2024-01-01T00:04:59.999")) == _ms("2024-01-01T00:05:00")
    ny = parse_cron("CRON_TZ=America/New_York 0 4 * * *")
    assert ny.zone == "America/New_York"
    # 04:00 in New York is 08:00 UTC in summer time and 09:00 UTC after the November switch
    assert ny.next_after_ms(_ms("2024-11-02T00:00:00")) == _ms("2024-11-02T08:00:00")
    assert ny.next_after_ms(_ms("2024-11-02T08:00:00")) == _ms("2024-11-03T09:00:00")


@pytest.mark.anyio
async def test_a_clock_jump_fires_once_per_elapsed_period() -> None:
    emulator, recorder = make("2024-01-01T00:00:00")
    await emulator.start()
    schedule_id = schedule(emulator, "*/5 * * * *")
    emulator.clock.advance(3600)  # type: ignore[attr-defined]
    assert emulator.run_due() >= 12
    await emulator.drain()
    await emulator.stop()
    assert len(recorder.requests) == 12
    messages = emulator.store.messages
    created = sorted(messages.get_message(TENANT, r.message_id).created_at_ms  # type: ignore[union-attr]
                     for r in recorder.requests)
    assert created == [_ms("2024-01-01T00:00:00") + 300_000 * n for n in range(1, 13)]
    state = emulator.service.get_schedule(TENANT, schedule_id)
    assert state.last_at_ms == _ms("2024-01-01T01:00:00")
    assert state.next_at_ms == _ms("2024-01-01T01:05:00")
    assert len(state.last_message_ids) == 1


@pytest.mark.anyio
async def test_triggers_follow_the_zone_across_a_dst_switch() -> None:
    emulator, recorder = make("2024-11-02T00:00:00")
    await emulator.start()
    schedule(emulator, "CRON_TZ=America/New_York 0 4 * * *")
    await emulator.advance(3 * 86400)
    await emulator.stop()
    times = [r.started_at_ms for r in recorder.requests]
    assert times == [_ms("2024-11-02T08:00:00"), _ms("2024-11-03T09:00:00"),
                     _ms("2024-11-04T09:00:00")]


@pytest.mark.anyio
async def test_delay_shifts_each_produced_message() -> None:
    emulator, recorder = make("2024-01-01T00:00:00")
    await emulator.start()
    schedule(emulator, "0 * * * *", **{"upstash-delay": "90s"})
    await emulator.advance(3600 + 89)
    assert recorder.requests == []
    await emulator.advance(1)
    await emulator.stop()
    assert [r.started_at_ms for r in recorder.requests] == [_ms("2024-01-01T01:01:30")]
    assert recorder.requests[0].headers["Upstash-Schedule-Id"].startswith("scd_")


@pytest.mark.anyio
async def test_paused_schedules_are_not_due_and_reset_forgets_everything() -> None:
    emulator, _ = make("2024-01-01T00:00:00")
    service = emulator.service
    schedule_id = schedule(emulator, "*/5 * * * *")
    assert emulator.scheduler.next_due_ms() == _ms("2024-01-01T00:05:00")
    service.pause_schedule(TENANT, schedule_id)
    assert emulator.scheduler.next_due_ms() is None
    service.resume_schedule(TENANT, schedule_id)
    assert emulator.scheduler.next_due_ms() == _ms("2024-01-01T00:05:00")
    service.add_endpoints(TENANT, "g", {"endpoints": [{"url": "http://a/"}]})
    emulator.reset(TENANT)
    config = emulator.store.config
    assert config.schedules(TENANT) == [] and config.url_groups(TENANT) == []
    assert emulator.scheduler.next_due_ms() is None


def test_free_plan_limits() -> None:
    emulator, _ = make("2024-01-01T00:00:00", plan="free")
    service = emulator.service
    for n in range(10):
        schedule(emulator, "0 0 * * *", **{"upstash-schedule-id": f"s{n}"})
    with pytest.raises(PreconditionFailed, match="free plan allows 10"):
        schedule(emulator, "0 0 * * *")
    schedule(emulator, "0 1 * * *", **{"upstash-schedule-id": "s3"})  # overwrite is fine
    assert len(service.list_schedules(TENANT)) == 10
    service.add_endpoints(TENANT, "one", {"endpoints": [{"url": "http://a/"}]})
    with pytest.raises(PreconditionFailed, match="free plan allows 1"):
        service.add_endpoints(TENANT, "two", {"endpoints": [{"url": "http://a/"}]})
    assert [g.name for g in service.list_url_groups(TENANT)] == ["one"]


def test_limits_table() -> None:
    assert DEFAULT_PLAN == "payg"
    assert (PLANS["payg"].schedules, PLANS["payg"].url_groups) == (1000, 100)
    assert (PLANS["free"].schedules, PLANS["free"].url_groups) == (10, 1)
    assert PLANS["free"].endpoints_per_url_group == PLANS["payg"].endpoints_per_url_group == 100


def test_cron_validation_messages() -> None:
    for bad in ("", "* * * *", "@hourly", "1-x * * * *", "CRON_TZ=Nowhere/City * * * * *"):
        with pytest.raises(BadRequest):
            parse_cron(bad)
    assert parse_cron("  0   4 * * 1-5 ").fields == "0 4 * * 1-5"
