"""Schedules through the official SDK (sync and async), triggered on the virtual clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from qstash import AsyncQStash, QStash
from qstash.errors import QStashError
from qstash.schedule import ScheduleState

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint
from pytest_qstash.server import EmulatorServer

FIVE_MIN_MS = 5 * 60 * 1000


def _align(control: EmulatorControl, period_ms: int) -> int:
    """Move the (shared, virtual) clock to the next exact multiple of `period_ms`."""
    now = control.now_ms()
    control.advance(((-now) % period_ms) / 1000)
    aligned = control.now_ms()
    assert aligned % period_ms == 0
    return aligned


def test_create_get_list_carry_every_setting(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    schedule_id = client.schedule.create(
        destination=endpoint.url_for("/job"), cron="*/5 * * * *", body="payload",
        content_type="text/plain", method="PUT", headers={"X-Tag": "a"}, retries=2,
        retry_delay="1000 * (1 + retried)", callback=endpoint.url_for("/cb"),
        failure_callback=endpoint.url_for("/fcb"), callback_headers={"X-Cb": "c"},
        delay=30, timeout=10, queue="q-1", flow_control={"key": "fk", "parallelism": 2},
        label="nightly",
    )
    assert schedule_id.startswith("scd_")
    schedule = client.schedule.get(schedule_id)
    assert schedule.destination == endpoint.url_for("/job")
    assert schedule.cron == "*/5 * * * *"
    assert schedule.body == "payload" and schedule.method == "PUT"
    assert schedule.headers == {"X-Tag": ["a"], "Content-Type": ["text/plain"]}
    assert schedule.callback_headers == {"X-Cb": ["c"]}
    assert (schedule.retries, schedule.delay, schedule.timeout) == (2, 30, 10)
    assert schedule.retry_delay_expression == "1000 * (1 + retried)"
    assert schedule.callback == endpoint.url_for("/cb")
    assert schedule.failure_callback == endpoint.url_for("/fcb")
    assert schedule.queue == "q-1" and schedule.label == "nightly"
    assert schedule.flow_control is not None and schedule.flow_control.key == "fk"
    assert schedule.flow_control.parallelism == 2
    assert schedule.paused is False and schedule.caller_ip
    assert schedule.created_at == control.now_ms()
    assert schedule.next_schedule_time is not None
    assert schedule.next_schedule_time % FIVE_MIN_MS == 0
    assert 0 < schedule.next_schedule_time - control.now_ms() <= FIVE_MIN_MS
    assert schedule.last_schedule_time is None and schedule.last_schedule_states is None
    assert [s.schedule_id for s in client.schedule.list()] == [schedule_id]


def test_a_day_of_every_five_minutes_fires_288_times(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    # Start: the clock sits exactly on a 5-minute boundary t0 when the schedule is created,
    # so the triggers are t0+5m, t0+10m, ..., t0+24h (the creation instant itself does not fire).
    start = _align(control, FIVE_MIN_MS)
    schedule_id = client.schedule.create(
        destination=endpoint.url_for("/tick"), cron="*/5 * * * *", body="tick"
    )
    control.advance(86400)
    ticks = [d for d in control.deliveries() if d["url"] == endpoint.url_for("/tick")]
    assert len(ticks) == 288
    assert [d["time"] for d in ticks] == [start + FIVE_MIN_MS * n for n in range(1, 289)]
    assert len({d["messageId"] for d in ticks}) == 288
    assert {r.header("upstash-schedule-id") for r in endpoint.requests} == {schedule_id}
    schedule = client.schedule.get(schedule_id)
    assert schedule.last_schedule_time == start + 86400 * 1000
    assert schedule.next_schedule_time == start + 86400 * 1000 + FIVE_MIN_MS
    message = client.message.get(ticks[-1]["messageId"])
    assert message.schedule_id == schedule_id and message.body == "tick"


def _next_local(now_ms: int, zone: str, hour: int) -> int:
    """Independently of croniter: the next `hour`:00 wall-clock time in `zone` after now."""
    tz = ZoneInfo(zone)
    now = datetime.fromtimestamp(now_ms / 1000, tz)
    day = now.date()
    while True:
        candidate = datetime(day.year, day.month, day.day, hour, tzinfo=tz)
        if candidate > now:
            return int(candidate.timestamp() * 1000)
        day += timedelta(days=1)


def test_cron_tz_prefix_evaluates_in_that_zone(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    now = control.now_ms()
    local_id = client.schedule.create(
        destination=endpoint.url_for("/ny"), cron="CRON_TZ=America/New_York 0 4 * * *"
    )
    utc_id = client.schedule.create(destination=endpoint.url_for("/utc"), cron="0 4 * * *")
    ny_due = _next_local(now, "America/New_York", 4)
    utc_due = _next_local(now, "UTC", 4)
    assert client.schedule.get(local_id).next_schedule_time == ny_due
    assert client.schedule.get(local_id).cron == "CRON_TZ=America/New_York 0 4 * * *"
    assert client.schedule.get(utc_id).next_schedule_time == utc_due
    offset_h = (ny_due - utc_due) / 3_600_000 % 24
    assert offset_h in (4, 5)  # EDT or EST
    control.advance((ny_due - now) / 1000)
    [ny] = [d for d in control.deliveries() if d["url"] == endpoint.url_for("/ny")]
    assert ny["time"] == ny_due
    assert datetime.fromtimestamp(ny_due / 1000, UTC).hour in (8, 9)


def test_upsert_by_schedule_id_overwrites(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    _align(control, 3_600_000)
    first = client.schedule.create(
        destination=endpoint.url_for("/old"), cron="0 * * * *", body="old", schedule_id="my.job-1"
    )
    second = client.schedule.create_json(
        destination=endpoint.url_for("/new"), cron="*/30 * * * *", body={"v": 2},
        schedule_id="my.job-1",
    )
    assert first == second == "my.job-1"
    [schedule] = client.schedule.list()
    assert (schedule.cron, schedule.body, schedule.destination) == (
        "*/30 * * * *", '{"v": 2}', endpoint.url_for("/new"))
    control.advance(3600)
    assert [r.path for r in endpoint.requests] == ["/new", "/new"]
    assert endpoint.requests[0].json() == {"v": 2}
    assert endpoint.requests[0].header("upstash-schedule-id") == "my.job-1"


def test_a_schedule_recreated_without_a_body_has_no_body(
    client: QStash, endpoint: Endpoint, server: EmulatorServer, token: str
) -> None:
    client.schedule.create(destination=endpoint.url, cron="0 * * * *", body="first",
                           schedule_id="bodyless")
    client.schedule.create(destination=endpoint.url, cron="0 * * * *", schedule_id="bodyless")
    assert client.schedule.get("bodyless").body is None
    raw = httpx.get(f"{server.url}/v2/schedules", headers={"Authorization": f"Bearer {token}"})
    [listed] = raw.json()
    assert "body" not in listed and "bodyBase64" not in listed
    assert listed["scheduleId"] == "bodyless"


def test_pause_skips_triggers_and_resume_does_not_catch_up(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    _align(control, FIVE_MIN_MS)
    schedule_id = client.schedule.create(destination=endpoint.url, cron="*/5 * * * *")
    control.advance(300)
    assert len(endpoint.requests) == 1
    client.schedule.pause(schedule_id)
    client.schedule.pause(schedule_id)  # idempotent
    assert client.schedule.get(schedule_id).paused is True
    control.advance(3600)
    assert len(endpoint.requests) == 1
    client.schedule.resume(schedule_id)
    client.schedule.resume(schedule_id)
    assert client.schedule.get(schedule_id).paused is False
    control.advance(299)
    assert len(endpoint.requests) == 1
    control.advance(1)
    assert len(endpoint.requests) == 2


def test_last_schedule_states_follow_the_messages(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    endpoint.respond_with(500, path="/fail")
    _align(control, 60_000)
    ok = client.schedule.create(destination=endpoint.url_for("/ok"), cron="* * * * *")
    bad = client.schedule.create(
        destination=endpoint.url_for("/fail"), cron="* * * * *", retries=1, retry_delay="5000"
    )
    control.advance(60)
    ok_states = client.schedule.get(ok).last_schedule_states
    bad_states = client.schedule.get(bad).last_schedule_states
    assert ok_states is not None and list(ok_states.values()) == [ScheduleState.SUCCESS]
    assert bad_states is not None and list(bad_states.values()) == [ScheduleState.IN_PROGRESS]
    control.advance(5)
    bad_states = client.schedule.get(bad).last_schedule_states
    assert bad_states is not None and list(bad_states.values()) == [ScheduleState.FAIL]
    [entry] = client.dlq.list().messages
    assert entry.schedule_id == bad and entry.message_id in bad_states
    assert client.schedule.get(bad).last_schedule_time == client.schedule.get(ok).last_schedule_time


def test_delete_stops_triggers(client: QStash, endpoint: Endpoint, control: EmulatorControl
                               ) -> None:
    schedule_id = client.schedule.create(destination=endpoint.url, cron="* * * * *")
    client.schedule.delete(schedule_id)
    control.advance(600)
    assert endpoint.requests == []
    assert client.schedule.list() == []
    with pytest.raises(QStashError, match="404"):
        client.schedule.get(schedule_id)


def test_schedule_to_a_url_group_fans_out_each_trigger(
    client: QStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    client.url_group.upsert_endpoints(url_group="fans", endpoints=[
        {"url": endpoint.url_for("/a"), "name": "a"}, {"url": endpoint.url_for("/b")}])
    _align(control, 60_000)
    schedule_id = client.schedule.create(destination="fans", cron="* * * * *", body="f")
    control.advance(120)
    assert sorted(r.path for r in endpoint.requests) == ["/a", "/a", "/b", "/b"]
    assert {r.header("upstash-topic-name") for r in endpoint.requests} == {"fans"}
    assert {r.header("upstash-schedule-id") for r in endpoint.requests} == {schedule_id}
    schedule = client.schedule.get(schedule_id)
    assert schedule.destination == "fans"
    assert schedule.last_schedule_states is not None
    assert len(schedule.last_schedule_states) == 2
    client.url_group.delete("fans")
    control.advance(60)
    assert len(endpoint.requests) == 4
    assert client.schedule.get(schedule_id).error == "topic fans not found"


@pytest.mark.anyio
async def test_async_client_covers_every_schedule_method(
    aclient: AsyncQStash, endpoint: Endpoint, control: EmulatorControl
) -> None:
    _align(control, 60_000)
    schedule_id = await aclient.schedule.create_json(
        destination=endpoint.url, cron="* * * * *", body={"n": 1}, schedule_id="async-1"
    )
    assert schedule_id == "async-1"
    assert (await aclient.schedule.get(schedule_id)).body == '{"n": 1}'
    assert [s.schedule_id for s in await aclient.schedule.list()] == ["async-1"]
    control.advance(60)
    assert len(endpoint.requests) == 1
    await aclient.schedule.pause(schedule_id)
    assert (await aclient.schedule.get(schedule_id)).paused is True
    control.advance(120)
    assert len(endpoint.requests) == 1
    await aclient.schedule.resume(schedule_id)
    control.advance(60)
    assert len(endpoint.requests) == 2
    await aclient.schedule.create(destination=endpoint.url, cron="0 0 * * *", body="plain")
    assert len(await aclient.schedule.list()) == 2
    await aclient.schedule.delete(schedule_id)
    assert [s.cron for s in await aclient.schedule.list()] == ["0 0 * * *"]
    with pytest.raises(QStashError, match="404"):
        await aclient.schedule.get(schedule_id)


# --- bad input: status, error shape, nothing created -------------------------------------


@pytest.mark.parametrize(
    ("cron", "schedule_id", "extra", "status", "text"),
    [
        ("61 * * * *", None, {}, 400, "upstash-cron"),
        ("* * * *", None, {}, 400, "upstash-cron"),
        ("* * * * * *", None, {}, 400, "upstash-cron"),
        ("CRON_TZ=Mars/Olympus 0 4 * * *", None, {}, 400, "unknown zone"),
        ("0 0 30 2 *", None, {}, 400, "never fires"),
        ("* * * * *", "bad id!", {}, 400, "upstash-schedule-id"),
        ("* * * * *", None, {"Upstash-Not-Before": "1700000000"}, 400, "upstash-not-before"),
        ("* * * * *", None, {"Upstash-Delay": "soon"}, 400, "upstash-delay"),
        ("* * * * *", None, {"Upstash-Queue-Name": "a/b c"}, 400, "upstash-queue-name"),
    ],
)
def test_bad_schedules_are_refused_and_nothing_is_created(
    server: EmulatorServer, token: str, client: QStash, cron: str, schedule_id: str | None,
    extra: dict[str, str], status: int, text: str,
) -> None:
    headers = {"Authorization": f"Bearer {token}", "Upstash-Cron": cron} | extra
    if schedule_id:
        headers["Upstash-Schedule-Id"] = schedule_id
    response = httpx.post(f"{server.url}/v2/schedules/http://127.0.0.1:9/x", headers=headers)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"} and text in response.json()["error"].lower()
    assert client.schedule.list() == []


def test_missing_cron_is_refused(server: EmulatorServer, token: str, client: QStash) -> None:
    response = httpx.post(f"{server.url}/v2/schedules/http://127.0.0.1:9/x",
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400 and "upstash-cron" in response.json()["error"]
    assert client.schedule.list() == []


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_unknown_schedule_ids_answer_404(
    server: EmulatorServer, token: str, method: str
) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    response = httpx.request(method, f"{server.url}/v2/schedules/scd_nope", headers=auth)
    assert response.status_code == 404
    assert response.json() == {"error": "schedule scd_nope not found"}
    for verb in ("PATCH", "POST"):
        for action in ("pause", "resume"):
            response = httpx.request(verb, f"{server.url}/v2/schedules/scd_nope/{action}",
                                     headers=auth)
            assert response.status_code == 404, (verb, action)


def test_pause_and_resume_accept_post_too(
    server: EmulatorServer, token: str, client: QStash
) -> None:
    schedule_id = client.schedule.create(destination="http://127.0.0.1:9/x", cron="* * * * *")
    auth = {"Authorization": f"Bearer {token}"}
    assert httpx.post(f"{server.url}/v2/schedules/{schedule_id}/pause", headers=auth).is_success
    assert client.schedule.get(schedule_id).paused is True
    assert httpx.post(f"{server.url}/v2/schedules/{schedule_id}/resume", headers=auth).is_success
    assert client.schedule.get(schedule_id).paused is False


def test_more_schedules_than_the_plan_allows_answer_412() -> None:
    # A server of its own on the free plan (10 schedules), so the test makes 11, not 1001.
    with EmulatorServer(clock="virtual", tokens=("free-user",), plan="free") as server:
        client = QStash("free-user", base_url=server.url, retry=False)
        for n in range(10):
            client.schedule.create(destination="http://127.0.0.1:9/x", cron="0 0 1 1 *",
                                   schedule_id=f"s{n}")
        with pytest.raises(QStashError, match="412") as refused:
            client.schedule.create(destination="http://127.0.0.1:9/x", cron="0 0 1 1 *")
        # overwriting an existing id is not a new schedule
        client.schedule.create(destination="http://127.0.0.1:9/y", cron="0 0 1 1 *",
                               schedule_id="s7")
        schedules = client.schedule.list()
    assert '{"error":"too many schedules: the free plan allows 10"}' in str(refused.value)
    assert {s.schedule_id for s in schedules} == {f"s{n}" for n in range(10)}
    assert next(s for s in schedules if s.schedule_id == "s7").destination.endswith("/y")
