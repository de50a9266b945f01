"""`GET /v2/events` and its newer name `GET /v2/logs`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .common import FastJSON, multi_params, service_of, tenant_of
from .render import log_json


async def list_events(request: Request) -> Response:
    tenant = tenant_of(request)
    page = service_of(request).list_logs(tenant.name, multi_params(request))
    events = [log_json(event) for event in page.items]
    data: dict[str, object] = {"events": events, "logs": events}
    if page.cursor is not None:
        data["cursor"] = page.cursor
    return FastJSON(data)


routes = [
    Route("/v2/events", list_events, methods=["GET"]),
    Route("/v2/logs", list_events, methods=["GET"]),
]
