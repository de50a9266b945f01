"""Workflow values -> the JSON the Workflow SDKs read: run logs, waiters, the workflow DLQ."""

from __future__ import annotations

from typing import Any

from ..core.model import Message, Response, State
from ..core.workflows.dlq import FailedStep, StartedRun
from ..core.workflows.history import step_of
from ..core.workflows.model import CallType, Failure, HistoryItem, Run, Waiter
from ..core.workflows.waits import Notified
from ..core.workflows.workflows import RunView
from .render import dlq_json

Json = dict[str, Any]
NEXT_STATES = {State.CREATED: "STEP_PROGRESS", State.ACTIVE: "STEP_PROGRESS",
               State.RETRY: "STEP_RETRY", State.FAILED: "STEP_FAILED",
               State.CANCELED: "STEP_CANCELED"}
STEP_FIELDS = ("targetStep", "sleepFor", "sleepUntil", "callUrl", "callMethod", "callBody",
               "callHeaders", "waitEventId", "waitTimeout", "timeout")


def _lists(headers: dict[str, str]) -> dict[str, list[str]]:
    return {name: [value] for name, value in headers.items()}


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _some(data: Json) -> Json:
    return {key: value for key, value in data.items() if value is not None}


# run logs: GET /v2/workflows/events?groupBy=workflowRunId
def run_log_json(view: RunView) -> Json:
    run = view.run
    data: Json = _some({
        "workflowRunId": run.run_id,
        "workflowUrl": run.url,
        "workflowState": run.state.value,
        "workflowRunCreatedAt": run.created_at_ms,
        "workflowRunCompletedAt": run.completed_at_ms,
        "workflowRunResponse": run.response,
        "workflowRunCallerIp": run.settings.caller_ip,
        "label": run.settings.labels[0] if run.settings.labels else None,
        "labels": list(run.settings.labels) or None,
        "dlqId": run.failure.dlq_id if run.failure else None,
    })
    data["steps"] = _groups(view)
    if run.failure is not None and run.failure.callback_url is not None:
        data["failureFunction"] = _failure_function(run.failure)
    if run.invoker is not None:
        data["invoker"] = {"workflowRunId": run.invoker.run_id,
                           "workflowUrl": run.invoker.url,
                           "workflowRunCreatedAt": run.invoker.created_at_ms}
    return data


def _groups(view: RunView) -> list[Json]:
    messages = {message.message_id: message for message in view.messages}
    groups: list[Json] = [{"type": "sequential",
                           "steps": [_init_step(view.run, messages.get(view.run.init_message_id))]}]
    for item in view.history:
        step = step_of(item.body) if item.call_type == CallType.STEP else None
        if step is None or item.message_id == view.run.init_message_id:
            continue
        shown = _step_json(item, step, messages.get(item.message_id))
        parallel = step.get("concurrent", 1) > 1
        if parallel and groups[-1]["type"] == "parallel":
            groups[-1]["steps"].append(shown)
        else:
            groups.append({"type": "parallel" if parallel else "sequential", "steps": [shown]})
    pending = [_next_json(m) for m in view.messages if m.state in NEXT_STATES
               and m.workflow is not None and m.workflow.call_type != CallType.FAILURE_CALL]
    if pending:
        groups.append({"type": "next", "steps": pending})
    return groups


def _message_fields(message: Message | None) -> Json:
    if message is None:
        return {}
    return _some({"createdAt": message.created_at_ms, "retries": message.max_retries,
                  "retryDelay": message.retry_delay_expr, "headers": _lists(message.headers)})


def _init_step(run: Run, message: Message | None) -> Json:
    return {"stepId": 0, "stepName": "init", "stepType": "Initial", "callType": "step",
            "messageId": run.init_message_id, "out": _text(run.initial_body), "concurrent": 1,
            "state": "STEP_SUCCESS", "createdAt": run.created_at_ms} | _message_fields(message)


def _step_json(item: HistoryItem, step: Json, message: Message | None) -> Json:
    data: Json = {"stepId": step.get("stepId"), "stepName": step.get("stepName"),
                  "stepType": step.get("stepType"), "callType": item.call_type,
                  "messageId": item.message_id, "out": step.get("out"),
                  "concurrent": step.get("concurrent", 1), "state": "STEP_SUCCESS"}
    data |= {name: step[name] for name in STEP_FIELDS if step.get(name) is not None}
    return data | _message_fields(message)


def _next_json(message: Message) -> Json:
    data: Json = _some({"messageId": message.message_id, "state": NEXT_STATES[message.state],
                        "retries": message.max_retries, "retryDelay": message.retry_delay_expr,
                        "nextDeliveryTime": message.due_at_ms
                        if message.state is State.RETRY else None})
    response = message.last_response
    if response is not None and not response.ok:
        data["errors"] = [_error_json(response, message.due_at_ms)]
    return data


def _error_json(response: Response, time_ms: int) -> Json:
    return {"error": response.error or f"{response.status}", "body": _text(response.body),
            "headers": _lists(response.headers), "status": response.status, "time": time_ms}


def _failure_function(failure: Failure) -> Json:
    return _some({
        "messageId": failure.callback_message_id,
        "url": failure.callback_url,
        "state": failure.callback_state.value if failure.callback_state else None,
        "failHeaders": _lists(failure.headers),
        "failStatus": failure.status,
        "failResponse": _text(failure.body),
        "dlqId": failure.dlq_id,
        "responseStatus": failure.callback_status,
        "responseBody": _text(failure.callback_body) if failure.callback_status else None,
    })


# wait and notify
def waiter_json(waiter: Waiter) -> Json:
    return {"url": waiter.url, "deadline": waiter.deadline_ms // 1000,
            "headers": _lists(waiter.headers), "timeoutUrl": waiter.timeout_url,
            "timeoutHeaders": _lists(waiter.timeout_headers)}


def notified_json(notified: Notified) -> Json:
    return {"waiter": waiter_json(notified.waiter), "messageId": notified.message_id,
            "error": ""}


# the workflow DLQ
def workflow_dlq_json(step: FailedStep) -> Json:
    data = dlq_json(step.entry)
    run = step.run
    if run is None:
        return data
    data |= {"workflowRunId": run.run_id, "workflowUrl": run.url,
             "workflowCreatedAt": run.created_at_ms}
    failure = run.failure
    if failure is not None and failure.callback_url is not None:
        data["failureCallback"] = failure.callback_url
        data["failureCallbackInfo"] = _some({
            "state": failure.callback_state.value if failure.callback_state else None,
            "responseStatus": failure.callback_status,
            "responseBody": _text(failure.callback_body) if failure.callback_status else None,
        })
    return data


def started_json(started: StartedRun) -> Json:
    return {"workflowRunId": started.run_id, "workflowCreatedAt": started.created_at_ms}
