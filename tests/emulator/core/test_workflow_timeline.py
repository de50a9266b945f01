"""What the dashboard reads of workflow runs through the service: a page of runs newest first,
counts by state, and one run's step timeline with its waiters.

The publishes are the ones the Workflow SDKs make (see `workflow_app`); deliveries go through
a function on the virtual clock.
"""

from __future__ import annotations

import base64
import json

import pytest
from workflow_app import APP, START_S, TENANT, init_headers, make, publish, step, step_headers

from qstash_emulator.core.errors import BadRequest, NotFound
from qstash_emulator.core.model import Response
from qstash_emulator.core.workflows.model import RunState

pytestmark = pytest.mark.anyio
START_MS = START_S * 1000


def rows(emulator: object, run_id: str) -> list[tuple[str, str]]:
    detail = emulator.service.workflow_run(TENANT, run_id)  # type: ignore[attr-defined]
    return [(row.name, row.state) for row in detail.steps]


async def test_the_timeline_shows_done_steps_a_sleep_until_its_deadline_and_a_retry() -> None:
    failing = iter([Response(200), Response(200), Response(503, body=b"busy")])
    emulator, _ = make(lambda request: next(failing, Response(200)))
    await emulator.start()
    publish(emulator, init_headers("wfr_1"), b'{"item":"book"}')
    await emulator.drain()
    done = publish(emulator, step_headers("wfr_1"), step(1, "reserve", {"qty": 2}))
    await emulator.drain()
    sleep = publish(emulator, {**step_headers("wfr_1"), "upstash-delay": "1h"},
                    step(2, "nap", None, stepType="SleepFor", sleepFor=3600))

    detail = emulator.service.workflow_run(TENANT, "wfr_1")
    init, reserve, nap = detail.steps
    assert (init.name, init.out, init.state) == ("init", '{"item":"book"}', "STEP_SUCCESS")
    assert (reserve.step_id, reserve.type, reserve.out) == (1, "Run", '{"qty": 2}')
    assert reserve.message_id == done.message_id and reserve.time_ms == START_MS
    assert (nap.state, nap.deadline_ms, nap.out) == ("STEP_PROGRESS", START_MS + 3_600_000, None)
    assert nap.message_id == sleep.message_id

    await emulator.advance(3600)  # the sleep ends: its delivery fails once, then is retried
    assert rows(emulator, "wfr_1") == [("init", "STEP_SUCCESS"), ("reserve", "STEP_SUCCESS"),
                                       ("nap", "STEP_SUCCESS"), ("next step", "STEP_RETRY")]
    retry = emulator.service.workflow_run(TENANT, "wfr_1").steps[-1]
    assert retry.status == 503 and retry.deadline_ms is not None
    assert retry.deadline_ms > START_MS + 3_600_000
    await emulator.stop()


async def test_a_call_step_shows_the_status_it_got() -> None:
    emulator, _ = make()
    await emulator.start()
    publish(emulator, init_headers("wfr_1"), b"{}")
    await emulator.drain()
    out = json.dumps({"status": 404, "body": "nope", "header": {}})
    publish(emulator, step_headers("wfr_1"),
            json.dumps({"stepId": 1, "stepName": "lookup", "stepType": "Call", "out": out,
                        "concurrent": 1}).encode())
    await emulator.drain()
    lookup = emulator.service.workflow_run(TENANT, "wfr_1").steps[1]
    assert (lookup.type, lookup.status, lookup.state) == ("Call", 404, "STEP_SUCCESS")
    await emulator.stop()


def wait_for(emulator: object, run_id: str, event_id: str, timeout: str) -> None:
    step_json = {"stepId": 1, "stepName": "approval", "stepType": "Wait", "concurrent": 1}
    emulator.service.wait_for_event(  # type: ignore[attr-defined]
        TENANT, event_id, step_headers(run_id),
        {"url": APP, "timeout": timeout, "step": step_json})


async def test_a_waiting_run_shows_its_waiters_and_then_the_events_data() -> None:
    emulator, _ = make()
    await emulator.start()
    publish(emulator, init_headers("wfr_1"), b"{}")
    await emulator.drain()
    wait_for(emulator, "wfr_1", "approved", "1d")
    wait_for(emulator, "wfr_1", "shipped", "1h")

    detail = emulator.service.workflow_run(TENANT, "wfr_1")
    assert [(w.event_id, w.deadline_ms) for w in detail.waiters] in (
        [("approved", START_MS + 86_400_000), ("shipped", START_MS + 3_600_000)],
        [("shipped", START_MS + 3_600_000), ("approved", START_MS + 86_400_000)])
    waiting = detail.steps[1:]
    assert [(row.event_id, row.state, row.deadline_ms) for row in waiting] == [
        ("shipped", "STEP_WAITING", START_MS + 3_600_000),
        ("approved", "STEP_WAITING", START_MS + 86_400_000)]

    emulator.service.notify(TENANT, "approved", b'{"ok": true}')
    await emulator.advance(3600)  # the other wait times out
    detail = emulator.service.workflow_run(TENANT, "wfr_1")
    assert detail.waiters == []
    woken = {row.event_id: row for row in detail.steps[1:]}
    assert woken["approved"].out == '{"ok": true}' and woken["approved"].error is None
    assert woken["shipped"].error == "timed out" and woken["shipped"].out is None
    await emulator.stop()


async def test_a_canceled_run_shows_no_waiter_and_its_canceled_step() -> None:
    emulator, _ = make()
    await emulator.start()
    publish(emulator, init_headers("wfr_1"), b"{}")
    await emulator.drain()
    publish(emulator, {**step_headers("wfr_1"), "upstash-delay": "1d"},
            step(1, "nap", None, stepType="SleepFor", sleepFor=86400))
    wait_for(emulator, "wfr_1", "approved", "1d")
    emulator.service.end_workflow_run(TENANT, "wfr_1", cancel=True, response=None)
    detail = emulator.service.workflow_run(TENANT, "wfr_1")
    assert detail.run.state is RunState.RUN_CANCELED and detail.waiters == []
    assert rows(emulator, "wfr_1") == [("init", "STEP_SUCCESS"), ("nap", "STEP_CANCELED")]
    await emulator.stop()


async def test_runs_page_newest_first_by_state_with_counts() -> None:
    emulator, _ = make()
    await emulator.start()
    for n in range(3):
        publish(emulator, init_headers(f"wfr_{n}"), b"{}")
        await emulator.advance(1)
    emulator.service.end_workflow_run(TENANT, "wfr_1", cancel=False, response="done")
    service = emulator.service
    first = service.browse_workflow_runs(TENANT, {"count": ["2"]})
    assert [s.run.run_id for s in first.runs] == ["wfr_2", "wfr_1"] and first.cursor
    rest = service.browse_workflow_runs(TENANT, {"count": ["2"], "cursor": [first.cursor]})
    assert [s.run.run_id for s in rest.runs] == ["wfr_0"] and rest.cursor is None
    success = service.browse_workflow_runs(TENANT, {"state": ["run_success"]})
    assert [(s.run.run_id, s.steps) for s in success.runs] == [("wfr_1", 1)]
    assert service.workflow_run_counts(TENANT) == {
        RunState.RUN_STARTED: 2, RunState.RUN_SUCCESS: 1, RunState.RUN_FAILED: 0,
        RunState.RUN_CANCELED: 0}
    await emulator.stop()


@pytest.mark.parametrize(("params", "error"), [
    ({"state": ["DONE"]}, "invalid state: 'DONE', want one of RUN_STARTED, RUN_SUCCESS, "
                          "RUN_FAILED, RUN_CANCELED"),
    ({"cursor": ["wfr_1"]}, "invalid cursor: 'wfr_1'"),
    ({"count": ["0"]}, "invalid count: 0, want 1..200"),
])
def test_a_bad_page_request_is_refused(params: dict[str, list[str]], error: str) -> None:
    emulator, _ = make()
    with pytest.raises(BadRequest) as refused:
        emulator.service.browse_workflow_runs(TENANT, params)
    assert refused.value.message == error


def test_an_unknown_run_is_not_found() -> None:
    emulator, _ = make()
    with pytest.raises(NotFound) as missing:
        emulator.service.workflow_run(TENANT, "wfr_nope")
    assert missing.value.message == "workflow run wfr_nope not found"


async def test_event_data_that_is_not_text_is_shown_in_base64() -> None:
    emulator, _ = make()
    await emulator.start()
    publish(emulator, init_headers("wfr_1"), b"{}")
    await emulator.drain()
    wait_for(emulator, "wfr_1", "blob", "1d")
    emulator.service.notify(TENANT, "blob", b"\xff\xfe")
    await emulator.drain()
    woken = emulator.service.workflow_run(TENANT, "wfr_1").steps[-1]
    assert woken.out == base64.b64encode(b"\xff\xfe").decode()
    await emulator.stop()
