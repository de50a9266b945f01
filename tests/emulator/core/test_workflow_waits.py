"""Wait and notify, held events, wait timeouts on the emulator's clock, and invoke."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from workflow_app import APP, TENANT, history, init_headers, make, publish, step_headers, to

from qstash_emulator import Emulator
from qstash_emulator.core.errors import BadRequest, NotFound
from qstash_emulator.core.model import DeliveryRequest, Response
from qstash_emulator.delivery.dispatchers import FunctionDispatcher

pytestmark = pytest.mark.anyio
WAIT_STEP = {"stepId": 1, "stepName": "approval", "stepType": "Wait", "concurrent": 1}


def wait(emulator: Emulator, run_id: str, event_id: str = "ev", timeout: str = "1h") -> None:
    headers = {**step_headers(run_id), "upstash-workflow-calltype": "step",
               "authorization": "Bearer secret", "content-type": "application/json"}
    payload = {"url": APP, "timeout": timeout, "timeoutUrl": f"{APP}?timeout",
               "timeoutHeaders": {name: [value] for name, value in headers.items()},
               "step": WAIT_STEP}
    emulator.service.wait_for_event(TENANT, event_id, headers, payload)


def last_step(request: DeliveryRequest) -> dict[str, Any]:
    return dict(json.loads(history(request)[-1][1]))


async def started(run_ids: list[str]) -> tuple[Emulator, FunctionDispatcher]:
    emulator, dispatcher = make()
    await emulator.start()
    for run_id in run_ids:
        publish(emulator, init_headers(run_id))
    await emulator.drain()
    return emulator, dispatcher


async def test_notify_wakes_every_waiter_of_the_event_with_its_data() -> None:
    emulator, dispatcher = await started(["wfr_1", "wfr_2"])
    wait(emulator, "wfr_1")
    wait(emulator, "wfr_2")
    [waiter, _] = emulator.service.waiters(TENANT, "ev")
    assert waiter.url == APP and waiter.deadline_ms == 1_700_000_000_000 + 3_600_000
    assert "authorization" not in waiter.headers
    notified = emulator.service.notify(TENANT, "ev", b'{"ok":true}')
    assert sorted(n.waiter.run_id for n in notified) == ["wfr_1", "wfr_2"]
    await emulator.drain()
    woken = dispatcher.requests[2:]
    assert sorted(r.headers["Upstash-Workflow-RunId"] for r in woken) == ["wfr_1", "wfr_2"]
    assert last_step(woken[0]) == {**WAIT_STEP, "waitEventId": "ev", "timeout": "1h",
                                   "out": base64.b64encode(b'{"ok":true}').decode(),
                                   "waitTimeout": False}
    assert emulator.service.waiters(TENANT, "ev") == []
    assert emulator.service.notify(TENANT, "ev", b"late") == []
    await emulator.advance(7200)
    assert len(dispatcher.requests) == 4  # no timeout for woken waiters
    await emulator.stop()


async def test_a_wait_times_out_on_the_emulators_clock() -> None:
    emulator, dispatcher = await started(["wfr_1"])
    wait(emulator, "wfr_1", timeout="10m")
    await emulator.advance(599)
    assert len(dispatcher.requests) == 1
    await emulator.advance(1)
    [timed_out] = to(f"{APP}?timeout", dispatcher)
    assert last_step(timed_out) == {**WAIT_STEP, "waitEventId": "ev", "timeout": "10m",
                                    "waitTimeout": True}
    assert emulator.service.waiters(TENANT, "ev") == []
    await emulator.stop()


async def test_an_event_for_a_run_not_waiting_yet_is_held_for_it() -> None:
    emulator, dispatcher = await started(["wfr_1", "wfr_2"])
    assert emulator.service.notify_run(TENANT, "wfr_1", "ev", b"early") is None
    wait(emulator, "wfr_2")  # another run waiting for the same event gets nothing
    wait(emulator, "wfr_1")
    await emulator.drain()
    [woken] = dispatcher.requests[2:]
    assert woken.headers["Upstash-Workflow-RunId"] == "wfr_1"
    assert base64.b64decode(last_step(woken)["out"]) == b"early"
    assert [w.run_id for w in emulator.service.waiters(TENANT, "ev")] == ["wfr_2"]
    await emulator.stop()


async def test_the_waiters_of_an_ended_run_are_never_woken() -> None:
    emulator, dispatcher = await started(["wfr_1"])
    wait(emulator, "wfr_1", timeout="1m")
    emulator.service.end_workflow_run(TENANT, "wfr_1", cancel=True, response=None)
    assert emulator.service.waiters(TENANT, "ev") == []
    assert emulator.service.notify(TENANT, "ev", b"x") == []
    await emulator.advance(120)
    assert len(dispatcher.requests) == 1
    with pytest.raises(BadRequest):
        wait(emulator, "wfr_1")
    with pytest.raises(NotFound):
        emulator.service.notify_run(TENANT, "wfr_9", "ev", b"x")
    await emulator.stop()


@pytest.mark.parametrize(("payload", "reason"), [
    ([], "want a JSON object"),
    ({"url": APP}, "want url and step"),
    ({"url": APP, "step": {}, "timeout": "soon"}, "invalid duration"),
])
async def test_a_bad_wait_is_refused(payload: object, reason: str) -> None:
    emulator, _ = make()
    publish(emulator, init_headers("wfr_1"))
    with pytest.raises(BadRequest, match=reason):
        emulator.service.wait_for_event(TENANT, "ev", step_headers("wfr_1"), payload)
    with pytest.raises(BadRequest, match="needs an upstash-workflow-runid"):
        emulator.service.wait_for_event(TENANT, "ev", {}, {"url": APP, "step": {}})


def invoke(emulator: Emulator, child: str) -> None:
    invoker_headers = {name: [value] for name, value in step_headers("wfr_parent").items()}
    body = {"body": "21", "headers": invoker_headers, "workflowRunId": "wfr_parent",
            "workflowRunCreatedAt": 1, "workflowUrl": APP,
            "step": {"stepId": 1, "stepName": "ask", "stepType": "Invoke", "concurrent": 1}}
    headers = {**init_headers(child), "upstash-workflow-invoke": "true",
               "upstash-workflow-url": "http://app/child"}
    publish(emulator, headers, json.dumps(body).encode(), url="http://app/child")


@pytest.mark.parametrize(("end", "out"), [
    ("finish", {"isFailed": False, "isCanceled": False, "body": "42"}),
    ("cancel", {"isFailed": False, "isCanceled": True}),
    ("fail", {"isFailed": True, "isCanceled": False}),
])
async def test_an_invoked_run_hands_its_end_to_its_invoker(end: str, out: dict[str, Any]
                                                          ) -> None:
    emulator, dispatcher = make(lambda r: Response(500 if end == "fail" and "child" in r.url
                                                   else 200))
    await emulator.start()
    publish(emulator, init_headers("wfr_parent"))
    invoke(emulator, "wfr_child")
    await emulator.drain()
    [child] = to("http://app/child", dispatcher)[:1]
    assert history(child)[0][1] == b"21"
    if end != "fail":
        emulator.service.end_workflow_run(TENANT, "wfr_child", cancel=end == "cancel",
                                          response="42")
    await emulator.advance(86400)
    answer = last_step(to(APP, dispatcher)[-1])
    assert answer["stepName"] == "ask" and json.loads(answer["out"]) == out
    await emulator.stop()


async def test_a_bad_invoke_body_stores_nothing() -> None:
    emulator, _ = make()
    headers = {**init_headers("wfr_child"), "upstash-workflow-invoke": "true"}
    with pytest.raises(BadRequest, match="invalid invoke body"):
        publish(emulator, headers, b'{"body": "x"}')
    assert emulator.service.workflow_runs(TENANT, {}).items == []
