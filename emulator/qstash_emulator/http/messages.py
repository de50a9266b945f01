"""`/v2/messages`: get, cancel, bulk cancel."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.errors import BadRequest
from ..core.messages.filters import values
from .common import FastJSON, multi_params, read_json, service_of, tenant_of
from .render import message_json


async def get_message(request: Request) -> Response:
    tenant = tenant_of(request)
    message = service_of(request).get_message(
        tenant.name, request.path_params["message_id"]
    )
    return FastJSON(message_json(message))


async def cancel_message(request: Request) -> Response:
    tenant = tenant_of(request)
    cancelled = service_of(request).cancel(
        tenant.name, request.path_params["message_id"]
    )
    return FastJSON({"cancelled": cancelled})


async def cancel_many(request: Request) -> Response:
    tenant = tenant_of(request)
    payload = await read_json(request) or {}
    if not isinstance(payload, dict):
        raise BadRequest("invalid body: want a JSON object")
    params = multi_params(request)
    params.update({k: v if isinstance(v, list) else [str(v)] for k, v in payload.items()
                   if k != "messageIds"})
    ids = payload.get("messageIds")
    if ids is None and "messageIds" in params:
        ids = values({"messageIds": params.pop("messageIds")}, "messageIds")
    if ids is not None and not (isinstance(ids, list) and all(isinstance(i, str) for i in ids)):
        raise BadRequest("invalid messageIds: want a list of strings")
    cancelled = service_of(request).cancel_many(tenant.name, ids, params)
    return FastJSON({"cancelled": cancelled})


routes = [
    Route("/v2/messages/{message_id}", get_message, methods=["GET"]),
    Route("/v2/messages/{message_id}", cancel_message, methods=["DELETE"]),
    Route("/v2/messages", cancel_many, methods=["DELETE"]),
]
