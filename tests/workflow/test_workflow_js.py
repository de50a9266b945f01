"""Upstash Workflow's JS SDK (`serve` on node:http, `Client`) runs end to end on the emulator.

Every call to the emulator is made by the official `@upstash/workflow` package in a node
process (`js/app.mjs`); the test moves the emulator's virtual clock and reads what the app did.
The app verifies each delivery's signature (the signing keys are in its environment).
"""

from __future__ import annotations

import json
import uuid

from node_app import NodeApp

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint

WEEK_S = 7 * 86400
DAY_S = 86400


def only_run(app: NodeApp, run_id: str) -> dict[str, object]:
    [run] = app.sdk("logs", workflowRunId=run_id)["runs"]
    return run  # type: ignore[no-any-return]


def step_names(run: dict[str, object]) -> list[str]:
    groups = run["steps"]
    assert isinstance(groups, list)
    return [step["stepName"] for group in groups for step in group["steps"] if "stepName" in step]


def test_run_run_sleep_a_week_call_run_and_its_logs(
    node_app: NodeApp, control: EmulatorControl, endpoint: Endpoint
) -> None:
    endpoint.respond_with(200, path="/quote", body=json.dumps({"quote": "Q-1"}),
                          headers={"Content-Type": "application/json"})
    run_id = node_app.sdk(
        "trigger", url=node_app.workflow_url("order"), headers={"x-shop": "acme"},
        body={"item": "book", "quoteUrl": endpoint.url_for("/quote")},
    )["workflowRunId"]

    control.advance(0)
    assert node_app.executed() == ["reserve", "price"]
    assert node_app.journal()["runIds"] == [run_id]
    control.advance(WEEK_S - 1)
    assert node_app.executed() == ["reserve", "price"] and endpoint.requests == []
    assert only_run(node_app, run_id)["workflowState"] == "RUN_STARTED"

    control.advance(1)
    [quote] = endpoint.requests
    assert quote.json() == {"total": 42}
    confirm = {"total": 42, "status": 200, "quote": {"quote": "Q-1"}, "shop": "acme"}
    assert node_app.executed() == ["reserve", "price", "confirm"]
    assert node_app.value("confirm") == confirm
    run = only_run(node_app, run_id)
    assert run["workflowState"] == "RUN_SUCCESS"
    assert json.loads(str(run["workflowRunResponse"])) == confirm
    assert step_names(run) == ["init", "reserve", "price", "cool-down", "quote", "confirm"]


def test_parallel_steps_each_run_once_and_join(node_app: NodeApp, control: EmulatorControl
                                              ) -> None:
    run_id = node_app.sdk("trigger", url=node_app.workflow_url("parallel"))["workflowRunId"]
    control.advance(0)
    assert sorted(node_app.executed()) == ["left", "right", "sum"]
    assert node_app.value("sum") == 3
    run = only_run(node_app, run_id)
    assert run["workflowState"] == "RUN_SUCCESS"
    assert "parallel" in [group["type"] for group in run["steps"]]  # type: ignore[union-attr]


def test_a_second_trigger_with_a_live_run_id_starts_nothing(
    node_app: NodeApp, control: EmulatorControl
) -> None:
    chosen = f"dup-{uuid.uuid4().hex[:8]}"
    first = node_app.sdk("trigger", url=node_app.workflow_url("sleeper"), workflowRunId=chosen)
    second = node_app.sdk("trigger", url=node_app.workflow_url("sleeper"), workflowRunId=chosen)
    assert first == second == {"workflowRunId": f"wfr_{chosen}"}
    control.advance(0)
    assert node_app.executed() == ["before-sleep"]


def test_wait_for_event_is_woken_by_notify_and_a_second_wait_times_out(
    node_app: NodeApp, control: EmulatorControl
) -> None:
    event_id = f"approval-{uuid.uuid4().hex[:8]}"
    run_id = node_app.sdk("trigger", url=node_app.workflow_url("waiter"),
                          body={"eventId": event_id})["workflowRunId"]
    control.advance(0)
    [waiter] = node_app.sdk("waiters", eventId=event_id)
    assert waiter["url"] == node_app.workflow_url("waiter")
    assert waiter["deadline"] == control.now_ms() // 1000 + DAY_S

    [notified] = node_app.sdk("notify", eventId=event_id, eventData={"approved": True})
    assert notified["messageId"] and notified["waiter"]["url"] == waiter["url"]
    control.advance(0)
    assert node_app.value("after-approval") == {"eventData": {"approved": True},
                                                "timeout": False}
    assert node_app.sdk("waiters", eventId=event_id) == []
    assert node_app.sdk("notify", eventId=event_id, eventData="late") == []

    control.advance(599)
    assert node_app.executed() == ["after-approval"]
    control.advance(1)
    assert node_app.value("after-timeout") == {"timeout": True}
    assert only_run(node_app, run_id)["workflowState"] == "RUN_SUCCESS"


def test_an_event_for_a_run_that_is_not_waiting_yet_is_held_for_it(
    node_app: NodeApp, control: EmulatorControl
) -> None:
    event_id = f"early-{uuid.uuid4().hex[:8]}"
    run_id = node_app.sdk("trigger", url=node_app.workflow_url("waiter"), delay="1h",
                          body={"eventId": event_id})["workflowRunId"]
    node_app.sdk("notify", eventId=event_id, eventData="came early", workflowRunId=run_id)
    control.advance(3600)
    assert node_app.value("after-approval") == {"eventData": "came early", "timeout": False}


def test_cancel_a_sleeping_run(node_app: NodeApp, control: EmulatorControl) -> None:
    run_id = node_app.sdk("trigger", url=node_app.workflow_url("sleeper"))["workflowRunId"]
    control.advance(0)
    assert node_app.executed() == ["before-sleep"]
    assert node_app.sdk("cancel", request=run_id) == {"cancelled": 1}
    assert node_app.sdk("cancel", request=run_id) == {"cancelled": 0}
    control.advance(DAY_S)
    assert node_app.executed() == ["before-sleep"]
    run = only_run(node_app, run_id)
    assert run["workflowState"] == "RUN_CANCELED" and run["workflowRunCompletedAt"]


def test_bulk_cancel_by_url(node_app: NodeApp, control: EmulatorControl) -> None:
    url = node_app.workflow_url("sleeper")
    for _ in range(3):
        node_app.sdk("trigger", url=url)
    control.advance(0)
    cancelled = node_app.sdk("cancel", request={"filter": {"workflowUrl": url}})
    assert cancelled == {"cancelled": 3}
    control.advance(DAY_S)
    assert node_app.executed() == ["before-sleep"] * 3


def failed_run(node_app: NodeApp, control: EmulatorControl) -> str:
    """Trigger `fragile` with one retry and let its `charge` step fail for good."""
    run_id = node_app.sdk("trigger", url=node_app.workflow_url("fragile"), retries=1,
                          body={"order": 7})["workflowRunId"]
    control.advance(0)
    control.advance(3600)
    assert node_app.executed() == ["fine", "charge", "charge"]
    return str(run_id)


def test_a_failing_step_runs_the_failure_function(
    node_app: NodeApp, control: EmulatorControl
) -> None:
    run_id = failed_run(node_app, control)
    [failure] = node_app.journal()["failures"]
    assert failure == {"runId": run_id, "status": 500, "message": "card declined",
                       "payload": {"order": 7}}
    run = only_run(node_app, run_id)
    assert run["workflowState"] == "RUN_FAILED"
    assert run["failureFunction"]["state"] == "CALLBACK_SUCCESS"  # type: ignore[index]
    [entry] = node_app.sdk("dlq-list")["messages"]
    assert entry["workflowRunId"] == run_id and entry["dlqId"] == run["dlqId"]


def test_resume_from_the_dlq_continues_at_the_failed_step(
    node_app: NodeApp, control: EmulatorControl
) -> None:
    failed_run(node_app, control)
    [entry] = node_app.sdk("dlq-list")["messages"]
    node_app.sdk("switches", chargeFails=False)
    resumed = node_app.sdk("dlq-resume", request={"dlqId": entry["dlqId"]})
    control.advance(0)
    assert node_app.executed() == ["fine", "charge", "charge", "charge"]
    assert only_run(node_app, resumed["workflowRunId"])["workflowState"] == "RUN_SUCCESS"
    assert node_app.sdk("dlq-list")["messages"] == []


def test_restart_from_the_dlq_runs_from_the_first_step(
    node_app: NodeApp, control: EmulatorControl
) -> None:
    failed_run(node_app, control)
    [entry] = node_app.sdk("dlq-list")["messages"]
    node_app.sdk("switches", chargeFails=False)
    restarted = node_app.sdk("dlq-restart", request={"dlqId": entry["dlqId"]})
    control.advance(0)
    assert node_app.executed() == ["fine", "charge", "charge", "fine", "charge"]
    assert only_run(node_app, restarted["workflowRunId"])["workflowState"] == "RUN_SUCCESS"


def test_a_failed_failure_function_is_retried_from_the_dlq(
    node_app: NodeApp, control: EmulatorControl
) -> None:
    node_app.sdk("switches", failureFunctionFails=True)
    run_id = failed_run(node_app, control)
    control.advance(DAY_S)
    [entry] = node_app.sdk("dlq-list")["messages"]
    assert entry["failureCallbackInfo"]["state"] == "CALLBACK_FAIL"
    node_app.sdk("switches", failureFunctionFails=False)
    before = len(node_app.journal()["failures"])
    node_app.sdk("dlq-callback", dlqId=entry["dlqId"])
    control.advance(0)
    assert len(node_app.journal()["failures"]) == before + 1
    run = only_run(node_app, run_id)
    assert run["failureFunction"]["state"] == "CALLBACK_SUCCESS"  # type: ignore[index]
    assert node_app.sdk("dlq-delete", request=entry["dlqId"])["deleted"] == 1
    assert node_app.sdk("dlq-list")["messages"] == []


def test_invoke_hands_the_child_result_back_to_the_parent(
    node_app: NodeApp, control: EmulatorControl
) -> None:
    node_app.sdk("trigger", url=node_app.workflow_url("parent"))
    control.advance(0)
    assert node_app.executed() == ["double", "after-invoke"]
    assert node_app.value("after-invoke") == {"body": 42, "isFailed": False,
                                              "isCanceled": False}


def test_a_run_canceled_during_a_step_publishes_nothing_more(
    node_app: NodeApp, control: EmulatorControl
) -> None:
    # The step publish after the cancel is refused with 400, which the SDK takes as "the run
    # was canceled": it answers 200 and stops, so nothing retries and nothing runs on.
    run_id = node_app.sdk("trigger", url=node_app.workflow_url("gated"))["workflowRunId"]
    node_app.wait_for_step("entered")
    assert node_app.sdk("cancel", request=[run_id]) == {"cancelled": 1}
    node_app.sdk("release")
    control.advance(DAY_S)
    assert node_app.executed() == ["entered"]
    assert only_run(node_app, run_id)["workflowState"] == "RUN_CANCELED"
    statuses = {d["status"] for d in control.deliveries()
                if d["url"] == node_app.workflow_url("gated")}
    assert statuses == {200}
