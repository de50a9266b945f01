"""What a tenant configures: schedules, queues, URL groups, flow-control keys, signing keys."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request

from ..core.errors import BadRequest
from .frame import View, page, service_of

NEXT_RUNS = 3


@page("schedules.html")
def schedules(request: Request, view: View) -> dict[str, Any]:
    service = service_of(request)
    found = service.list_schedules(view.tenant.name)
    return {"schedules": [(s, service.schedule_next_runs(s, NEXT_RUNS)) for s in found]}


async def change_schedule(request: Request, view: View, form: FormData) -> str:
    service = service_of(request)
    schedule_id, verb = request.path_params["schedule_id"], request.path_params["verb"]
    steps = {"pause": service.pause_schedule, "resume": service.resume_schedule,
             "delete": service.delete_schedule}
    _step(steps, verb)(view.tenant.name, schedule_id)
    return f"schedule {schedule_id}: {verb}d" if verb != "delete" else "schedule deleted"


@page("queues.html")
def queues(request: Request, view: View) -> dict[str, Any]:
    return {"queues": service_of(request).list_queues(view.tenant.name)}


async def change_queue(request: Request, view: View, form: FormData) -> str:
    name, verb = request.path_params["name"], request.path_params["verb"]
    paused = _step({"pause": True, "resume": False}, verb)
    service_of(request).pause_queue(view.tenant.name, name, paused)
    return f"queue {name} {'paused' if paused else 'resumed'}"


@page("url_groups.html")
def url_groups(request: Request, view: View) -> dict[str, Any]:
    return {"groups": service_of(request).list_url_groups(view.tenant.name)}


async def delete_url_group(request: Request, view: View, form: FormData) -> str:
    name = request.path_params["name"]
    service_of(request).delete_url_group(view.tenant.name, name)
    return f"URL group {name} deleted"


@page("flow_control.html")
def flow_control(request: Request, view: View) -> dict[str, Any]:
    service = service_of(request)
    return {"flows": service.list_flows(view.tenant.name, None),
            "parallelism": service.global_parallelism(view.tenant.name)}


async def change_flow(request: Request, view: View, form: FormData) -> str:
    key, verb = request.path_params["key"], request.path_params["verb"]
    service_of(request).change_flow(view.tenant.name, key, verb, {})
    return f"flow-control key {key}: {verb} done"


@page("keys.html")
def keys(request: Request, view: View) -> dict[str, Any]:
    return {"keys": service_of(request).signing_keys(view.tenant.name)}


async def rotate_keys(request: Request, view: View, form: FormData) -> str:
    service_of(request).rotate_keys(view.tenant.name)
    return "signing keys rotated: the next key is now the current one"


def _step(steps: dict[str, Any], verb: str) -> Any:
    if verb not in steps:
        raise BadRequest(f"unknown action {verb!r}; want one of {', '.join(steps)}")
    return steps[verb]
