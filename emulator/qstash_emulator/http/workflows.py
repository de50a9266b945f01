"""Upstash Workflow's API: runs (`/v2/workflows/runs`, logs), wait and notify, and the
workflow DLQ (`/v2/workflows/dlq`, `/v2/dlq?source=workflow`)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core import protocol as p
from ..core.errors import BadRequest
from ..core.headers import parse_bool
from ..core.messages.filters import values
from ..core.workflows.dlq import FailedStep, StartedRun
from ..core.workflows.history import history_json
from .common import (
    FastJSON,
    emulator_of,
    lowered_headers,
    multi_params,
    read_body,
    read_json,
    service_of,
    tenant_of,
)
from .workflow_render import (
    notified_json,
    run_log_json,
    started_json,
    waiter_json,
    workflow_dlq_json,
)


# runs
async def run_history(request: Request) -> Response:
    tenant = tenant_of(request)
    items = service_of(request).workflow_history(tenant.name, request.path_params["run_id"])
    return FastJSON(history_json(items))


async def end_run(request: Request) -> Response:
    tenant = tenant_of(request)
    cancel = _flag(request, "cancel")
    body = (await read_body(request)).decode("utf-8", errors="replace")
    emulator = emulator_of(request)
    await emulator.stored(lambda: emulator.service.end_workflow_run(
        tenant.name, request.path_params["run_id"], cancel=cancel, response=body or None))
    return Response(status_code=200)


async def cancel_runs(request: Request) -> Response:
    tenant = tenant_of(request)
    ids = await _ids(request, "workflowRunIds")
    emulator = emulator_of(request)
    cancelled = await emulator.stored(lambda: emulator.service.cancel_workflow_runs(
        tenant.name, ids, multi_params(request)))
    return FastJSON({"cancelled": cancelled})


async def run_logs(request: Request) -> Response:
    tenant = tenant_of(request)
    params = multi_params(request)
    group_by = values(params, "groupBy")
    if group_by and group_by[0] != "workflowRunId":
        raise BadRequest(p.WORKFLOW_GROUP_BY.format(value=group_by[0]))
    page = service_of(request).workflow_runs(tenant.name, params)
    return FastJSON(_paged("runs", [run_log_json(view) for view in page.items], page.cursor))


# wait and notify
async def wait(request: Request) -> Response:
    tenant = tenant_of(request)
    payload = await read_json(request)
    emulator = emulator_of(request)
    await emulator.stored(lambda: emulator.service.wait_for_event(
        tenant.name, request.path_params["event_id"], lowered_headers(request), payload))
    return FastJSON({})


async def notify(request: Request) -> Response:
    tenant = tenant_of(request)
    data = await read_body(request)
    emulator = emulator_of(request)
    notified = await emulator.stored(lambda: emulator.service.notify(
        tenant.name, request.path_params["event_id"], data))
    return FastJSON([notified_json(n) for n in notified], status_code=201)


async def notify_run(request: Request) -> Response:
    tenant = tenant_of(request)
    data = await read_body(request)
    run_id = request.path_params["run_id"]
    emulator = emulator_of(request)
    notified = await emulator.stored(lambda: emulator.service.notify_run(
        tenant.name, run_id, request.path_params["event_id"], data))
    answer = {"workflowRunId": run_id} | ({} if notified is None else notified_json(notified))
    return FastJSON(answer, status_code=201)


async def waiters(request: Request) -> Response:
    tenant = tenant_of(request)
    found = service_of(request).waiters(tenant.name, request.path_params["event_id"])
    return FastJSON([waiter_json(waiter) for waiter in found])


# the workflow DLQ
async def list_dlq(request: Request) -> Response:
    tenant = tenant_of(request)
    page = service_of(request).workflow_dlq(tenant.name, multi_params(request))
    items: list[object] = [workflow_dlq_json(step) for step in page.items]
    return FastJSON(_paged("messages", items, page.cursor))


async def get_dlq(request: Request) -> Response:
    tenant = tenant_of(request)
    step = service_of(request).workflow_dlq_entry(tenant.name, request.path_params["dlq_id"])
    return FastJSON(workflow_dlq_json(step))


async def delete_dlq(request: Request) -> Response:
    tenant = tenant_of(request)
    step = service_of(request).workflow_dlq_entry(tenant.name, request.path_params["dlq_id"])
    service_of(request).delete_workflow_dlq(tenant.name, [step.entry.dlq_id])
    return Response(status_code=200)


async def delete_many(request: Request) -> Response:
    tenant = tenant_of(request)
    steps, cursor = await _chosen(request)
    deleted = service_of(request).delete_workflow_dlq(
        tenant.name, [step.entry.dlq_id for step in steps])
    return FastJSON({"deleted": deleted} | ({"cursor": cursor} if cursor else {}))


Act = Callable[[str, FailedStep, dict[str, str]], StartedRun]


async def _act_on_many(request: Request, act: Callable[[Request], Act]) -> Response:
    tenant = tenant_of(request)
    steps, cursor = await _chosen(request)
    headers = lowered_headers(request)
    emulator = emulator_of(request)
    started = await emulator.stored(lambda: [act(request)(tenant.name, step, headers)
                                             for step in steps])
    runs = [started_json(run) for run in started]
    return FastJSON({"workflowRuns": runs} | ({"cursor": cursor} if cursor else {}))


async def _act_on_one(request: Request, act: Callable[[Request], Act]) -> Response:
    tenant = tenant_of(request)
    service = service_of(request)
    step = service.workflow_dlq_entry(tenant.name, request.path_params["dlq_id"])
    headers = lowered_headers(request)
    emulator = emulator_of(request)
    started = await emulator.stored(lambda: act(request)(tenant.name, step, headers))
    return FastJSON(started_json(started))


def _resume(request: Request) -> Act:
    return service_of(request).resume_workflow


def _restart(request: Request) -> Act:
    return service_of(request).restart_workflow


async def resume_many(request: Request) -> Response:
    return await _act_on_many(request, _resume)


async def resume_one(request: Request) -> Response:
    return await _act_on_one(request, _resume)


async def restart_many(request: Request) -> Response:
    return await _act_on_many(request, _restart)


async def restart_one(request: Request) -> Response:
    return await _act_on_one(request, _restart)


async def retry_callback(request: Request) -> Response:
    tenant = tenant_of(request)
    emulator = emulator_of(request)
    started = await emulator.stored(lambda: emulator.service.retry_failure_callback(
        tenant.name, request.path_params["dlq_id"]))
    return FastJSON(started_json(started))


# request parts
def _flag(request: Request, name: str) -> bool:
    try:
        return parse_bool(request.query_params.get(name, "false"), name)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc


async def _ids(request: Request, name: str) -> list[str] | None:
    """Ids from the query (`?name=a&name=b`) or a JSON body `{name: [...]}`; None if neither."""
    from_query = values(multi_params(request), name)
    if from_query:
        return from_query
    payload = await read_json(request)
    if isinstance(payload, dict) and name in payload:
        ids = payload[name]
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise BadRequest(f"invalid {name}: want a list of strings")
        return ids
    return None


async def _chosen(request: Request) -> tuple[list[FailedStep], str | None]:
    """The DLQ entries a bulk action targets: `dlqIds`, else those the filters choose."""
    tenant = tenant_of(request)
    service = service_of(request)
    ids = await _ids(request, "dlqIds")
    if ids is not None:
        return [service.workflow_dlq_entry(tenant.name, dlq_id) for dlq_id in ids], None
    page = service.workflow_dlq(tenant.name, multi_params(request))
    return page.items, page.cursor


def _paged(name: str, items: list[object], cursor: str | None) -> dict[str, object]:
    return {name: items} | ({"cursor": cursor} if cursor else {})


routes = [
    Route("/v2/workflows/runs/{run_id}", run_history, methods=["GET"]),
    Route("/v2/workflows/runs/{run_id}", end_run, methods=["DELETE"]),
    Route("/v2/workflows/runs", cancel_runs, methods=["DELETE"]),
    Route("/v2/workflows/events", run_logs, methods=["GET"]),
    Route("/v2/workflows/logs", run_logs, methods=["GET"]),
    Route("/v2/wait/{event_id}", wait, methods=["POST"]),
    Route("/v2/notify/{event_id}", notify, methods=["POST"]),
    Route("/v2/notify/{run_id}/{event_id}", notify_run, methods=["POST"]),
    Route("/v2/waiters/{event_id}", waiters, methods=["GET"]),
    Route("/v2/workflows/dlq", list_dlq, methods=["GET"]),
    Route("/v2/workflows/dlq", delete_many, methods=["DELETE"]),
    Route("/v2/workflows/dlq/resume", resume_many, methods=["POST"]),
    Route("/v2/workflows/dlq/resume/{dlq_id}", resume_one, methods=["POST"]),
    Route("/v2/workflows/dlq/restart", restart_many, methods=["POST"]),
    Route("/v2/workflows/dlq/restart/{dlq_id}", restart_one, methods=["POST"]),
    Route("/v2/workflows/dlq/callback/{dlq_id}", retry_callback, methods=["POST"]),
    Route("/v2/workflows/dlq/{dlq_id}", get_dlq, methods=["GET"]),
    Route("/v2/workflows/dlq/{dlq_id}", delete_dlq, methods=["DELETE"]),
]
