"""`/v2/schedules`: create (upsert), get, list, delete, pause, resume."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.messages.publish import PublishRequest
from ..core.schedules.model import Schedule, ScheduleState
from .common import (
    FastJSON,
    caller_ip,
    publish_config,
    raw_destination,
    read_body,
    service_of,
    tenant_of,
)
from .render import message_json

TEMPLATE_KEYS = (
    "method", "body", "bodyBase64", "header", "callbackHeader", "failureCallbackHeader",
    "callback", "failureCallback", "retryDelayExpression", "label", "labels", "callerIP",
    "queueName", "flowControlKey", "parallelism", "rate", "period",
)
BODYLESS_KEYS = tuple(key for key in TEMPLATE_KEYS if key not in ("body", "bodyBase64"))
"""A schedule created without a body shows no `body` at all (not an empty one)."""


def schedule_json(schedule: Schedule, states: dict[str, ScheduleState]) -> dict[str, Any]:
    template = message_json(schedule.template)
    shown = TEMPLATE_KEYS if schedule.template.body else BODYLESS_KEYS
    data = {key: template[key] for key in shown if key in template}
    data |= {
        "scheduleId": schedule.schedule_id,
        "destination": schedule.destination,
        "cron": schedule.cron,
        "createdAt": schedule.created_at_ms,
        "retries": schedule.template.max_retries,
        "isPaused": schedule.paused,
    }
    optional = {
        "delay": schedule.delay_s or None,
        "timeout": schedule.template.timeout_s,
        "lastScheduleTime": schedule.last_at_ms,
        "nextScheduleTime": None if schedule.paused else schedule.next_at_ms,
        "lastScheduleStates": {k: v.value for k, v in states.items()} if states else None,
        "error": schedule.error,
    }
    return data | {key: value for key, value in optional.items() if value is not None}


async def create(request: Request) -> Response:
    tenant = tenant_of(request)
    headers, destination_query = publish_config(request)
    destination = raw_destination(request, 3)
    if destination_query:
        destination = f"{destination}?{destination_query}"
    body = await read_body(request)
    schedule = service_of(request).create_schedule(
        tenant.name, PublishRequest(destination, headers, body), caller_ip(request)
    )
    return FastJSON({"scheduleId": schedule.schedule_id})


async def get(request: Request) -> Response:
    tenant = tenant_of(request)
    service = service_of(request)
    schedule = service.get_schedule(tenant.name, request.path_params["schedule_id"])
    return FastJSON(schedule_json(schedule, service.schedule_run_states(schedule)))


async def list_all(request: Request) -> Response:
    tenant = tenant_of(request)
    service = service_of(request)
    return FastJSON([schedule_json(s, service.schedule_run_states(s))
                     for s in service.list_schedules(tenant.name)])


async def delete(request: Request) -> Response:
    tenant = tenant_of(request)
    service_of(request).delete_schedule(tenant.name, request.path_params["schedule_id"])
    return FastJSON({})


async def pause(request: Request) -> Response:
    tenant = tenant_of(request)
    service_of(request).pause_schedule(tenant.name, request.path_params["schedule_id"])
    return FastJSON({})


async def resume(request: Request) -> Response:
    tenant = tenant_of(request)
    service_of(request).resume_schedule(tenant.name, request.path_params["schedule_id"])
    return FastJSON({})


routes = [
    Route("/v2/schedules", list_all, methods=["GET"]),
    Route("/v2/schedules/{schedule_id}/pause", pause, methods=["PATCH", "POST"]),
    Route("/v2/schedules/{schedule_id}/resume", resume, methods=["PATCH", "POST"]),
    Route("/v2/schedules/{schedule_id}", get, methods=["GET"]),
    Route("/v2/schedules/{schedule_id}", delete, methods=["DELETE"]),
    Route("/v2/schedules/{destination:path}", create, methods=["POST"]),
]
