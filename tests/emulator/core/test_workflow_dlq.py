"""The workflow DLQ: which entries it lists, resume, restart, failure callback retry, delete;
and the run logs the SDK's `client.logs` reads."""

from __future__ import annotations

import json

import pytest
from workflow_app import APP, TENANT, history, init_headers, make, publish, step, step_headers, to

from qstash_emulator import Emulator
from qstash_emulator.core.errors import BadRequest
from qstash_emulator.core.model import Response
from qstash_emulator.delivery.dispatchers import FunctionDispatcher
from qstash_emulator.http.workflow_render import run_log_json, workflow_dlq_json

pytestmark = pytest.mark.anyio
FAILURE = {"upstash-failure-callback": "http://app/failure",
           "upstash-failure-callback-workflow-runid": "wfr_1",
           "upstash-failure-callback-workflow-url": APP}


async def failed_run(failing: set[str]) -> tuple[Emulator, FunctionDispatcher, str]:
    """Run `wfr_1`: its Init delivered, then step `a` failing for good; the URLs in `failing`
    answer 500 (the step's message id is returned)."""
    emulator, dispatcher = make(lambda r: Response(500) if r.url in failing else Response(200))
    await emulator.start()
    publish(emulator, init_headers("wfr_1", **{"upstash-retries": "0"}, **FAILURE), b"payload")
    await emulator.drain()
    failing.add(APP)
    failed = publish(emulator, step_headers("wfr_1"), step(1, "a", "A"))
    await emulator.drain()
    failing.discard(APP)
    return emulator, dispatcher, failed.message_id


async def test_only_failed_steps_of_runs_are_listed() -> None:
    emulator, _, failed_id = await failed_run(set())
    publish(emulator, {"upstash-retries": "0"}, b"plain", url="http://app/plain")
    emulator.service.add_fault(TENANT, {"match": "http://app/plain", "connection_error": True})
    await emulator.drain()
    assert len(emulator.service.list_dlq(TENANT, {}).items) == 2
    [listed] = emulator.service.workflow_dlq(TENANT, {}).items
    assert listed.entry.message.message_id == failed_id and listed.run is not None
    shown = workflow_dlq_json(listed)
    assert shown["workflowRunId"] == "wfr_1" and shown["workflowUrl"] == APP
    assert shown["failureCallbackInfo"] == {"state": "CALLBACK_SUCCESS", "responseStatus": 200,
                                            "responseBody": ""}
    wanted = emulator.service.workflow_dlq
    assert wanted(TENANT, {"workflowRunId": ["wfr_2"]}).items == []
    assert len(wanted(TENANT, {"failureFunctionState": ["CALLBACK_SUCCESS"]}).items) == 1
    await emulator.stop()


async def test_resume_continues_a_new_run_at_the_failed_step() -> None:
    emulator, dispatcher, failed_id = await failed_run(set())
    [failed] = emulator.service.workflow_dlq(TENANT, {}).items
    started = emulator.service.resume_workflow(TENANT, failed, {"upstash-retries": "2"})
    assert started.run_id != "wfr_1"
    await emulator.drain()
    again = dispatcher.requests[-1]
    assert again.headers["Upstash-Workflow-RunId"] == started.run_id
    items = history(again)
    assert [body for _, body, _ in items] == [b"payload", step(1, "a", "A")]
    assert items[1][0] != failed_id
    assert emulator.service.get_message(TENANT, again.message_id).max_retries == 2
    assert emulator.service.workflow_dlq(TENANT, {}).items == []
    runs = {v.run.run_id: v.run.state.value
            for v in emulator.service.workflow_runs(TENANT, {}).items}
    assert runs == {"wfr_1": "RUN_FAILED", started.run_id: "RUN_STARTED"}
    await emulator.stop()


async def test_restart_runs_a_new_run_from_its_first_step() -> None:
    emulator, dispatcher, _ = await failed_run(set())
    [failed] = emulator.service.workflow_dlq(TENANT, {}).items
    started = emulator.service.restart_workflow(TENANT, failed, {"upstash-delay": "1m"})
    await emulator.advance(59)
    assert dispatcher.requests[-1].headers.get("Upstash-Workflow-RunId") != started.run_id
    await emulator.advance(1)
    first = dispatcher.requests[-1]
    assert first.headers["Upstash-Workflow-RunId"] == started.run_id
    assert [body for _, body, _ in history(first)] == [b"payload"]
    await emulator.stop()


async def test_a_failed_failure_callback_is_retried() -> None:
    failing = {"http://app/failure"}
    emulator, dispatcher, _ = await failed_run(failing)
    [failed] = emulator.service.workflow_dlq(TENANT, {}).items
    assert failed.run is not None and failed.run.failure is not None
    assert failed.run.failure.callback_state is not None
    assert failed.run.failure.callback_state.value == "CALLBACK_FAIL"
    failing.clear()
    emulator.service.retry_failure_callback(TENANT, failed.entry.dlq_id)
    await emulator.drain()
    assert len(to("http://app/failure", dispatcher)) == 2
    [again] = emulator.service.workflow_dlq(TENANT, {}).items
    assert workflow_dlq_json(again)["failureCallbackInfo"]["state"] == "CALLBACK_SUCCESS"
    with pytest.raises(BadRequest, match="has not failed"):
        emulator.service.retry_failure_callback(TENANT, failed.entry.dlq_id)
    assert emulator.service.delete_workflow_dlq(TENANT, [failed.entry.dlq_id, "nope"]) == 1
    await emulator.stop()


async def test_the_logs_group_steps_and_show_what_is_next() -> None:
    answers = {"fail": False}
    emulator, _ = make(lambda r: Response(503, {}, b"busy") if answers["fail"] else Response(200))
    await emulator.start()
    init = publish(emulator, init_headers("wfr_1", **{"upstash-label": "nightly"}), b"payload")
    await emulator.drain()
    publish(emulator, step_headers("wfr_1"), step(1, "a", "A"))
    for target in (2, 3):
        publish(emulator, step_headers("wfr_1"), step(0, f"p{target}", concurrent=2,
                                                        targetStep=target))
    await emulator.drain()
    answers["fail"] = True
    retrying = publish(emulator, step_headers("wfr_1"), step(4, "b", "B"))
    await emulator.drain()
    [view] = emulator.service.workflow_runs(TENANT, {"label": ["nightly"]}).items
    log = run_log_json(view)
    assert (log["workflowRunId"], log["workflowState"], log["labels"]) == (
        "wfr_1", "RUN_STARTED", ["nightly"])
    groups = log["steps"]
    assert [g["type"] for g in groups] == ["sequential", "sequential", "parallel", "sequential",
                                           "next"]
    assert groups[0]["steps"][0] | {"messageId": init.message_id, "out": "payload"} == (
        groups[0]["steps"][0])
    assert [s["stepName"] for s in groups[2]["steps"]] == ["p2", "p3"]
    assert groups[1]["steps"][0]["out"] == json.dumps("A")
    [pending] = groups[4]["steps"]
    assert pending["messageId"] == retrying.message_id and pending["state"] == "STEP_RETRY"
    assert pending["errors"][0]["status"] == 503
    await emulator.stop()
