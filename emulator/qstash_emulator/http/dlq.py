"""`/v2/dlq`: list, get, delete, bulk delete, retry, bulk retry."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.errors import BadRequest
from ..core.messages.filters import refuse_unknown, values
from . import workflows
from .common import FastJSON, lowered_headers, multi_params, read_json, service_of, tenant_of
from .render import dlq_json


async def list_dlq(request: Request) -> Response:
    if request.query_params.get("source") == "workflow":
        return await workflows.list_dlq(request)
    tenant = tenant_of(request)
    page = service_of(request).list_dlq(tenant.name, multi_params(request))
    data: dict[str, object] = {"messages": [dlq_json(entry) for entry in page.items]}
    if page.cursor is not None:
        data["cursor"] = page.cursor
    return FastJSON(data)


async def get_dlq(request: Request) -> Response:
    tenant = tenant_of(request)
    entry = service_of(request).get_dlq(tenant.name, request.path_params["dlq_id"])
    return FastJSON(dlq_json(entry))


async def delete_dlq(request: Request) -> Response:
    tenant = tenant_of(request)
    service_of(request).delete_dlq(tenant.name, request.path_params["dlq_id"])
    return FastJSON({"deleted": 1})


async def _ids(request: Request) -> list[str] | None:
    """The `dlqIds` of a bulk action (body or query), None when it acts on filters."""
    refuse_unknown(multi_params(request), "dlq")
    payload = await read_json(request)
    if isinstance(payload, dict) and "dlqIds" in payload:
        ids = payload["dlqIds"]
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise BadRequest("invalid dlqIds: want a list of strings")
        return ids
    if payload is not None and not isinstance(payload, dict):
        raise BadRequest("invalid body: want a JSON object")
    query_ids = values(multi_params(request), "dlqIds")
    return query_ids or None


async def delete_many(request: Request) -> Response:
    tenant = tenant_of(request)
    service = service_of(request)
    ids = await _ids(request)
    if ids is None:
        page = service.list_dlq(tenant.name, multi_params(request))
        ids = [entry.dlq_id for entry in page.items]
        deleted = service.delete_dlq_many(tenant.name, ids)
        return FastJSON({"deleted": deleted} | ({"cursor": page.cursor} if page.cursor else {}))
    return FastJSON({"deleted": service.delete_dlq_many(tenant.name, ids)})


async def retry_one(request: Request) -> Response:
    tenant = tenant_of(request)
    service = service_of(request)
    entry = service.get_dlq(tenant.name, request.path_params["dlq_id"])
    message_id = service.retry_dlq(tenant.name, entry, lowered_headers(request))
    return FastJSON({"messageId": message_id}, status_code=201)


async def retry_many(request: Request) -> Response:
    tenant = tenant_of(request)
    service = service_of(request)
    ids = await _ids(request)
    cursor = None
    if ids is None:
        page = service.list_dlq(tenant.name, multi_params(request))
        entries, cursor = page.items, page.cursor
    else:
        entries = [service.get_dlq(tenant.name, dlq_id) for dlq_id in ids]
    headers = lowered_headers(request)
    responses = [
        {"messageId": service.retry_dlq(tenant.name, entry, headers)}
        for entry in entries
    ]
    return FastJSON({"responses": responses} | ({"cursor": cursor} if cursor else {}),
                    status_code=201)


routes = [
    Route("/v2/dlq", list_dlq, methods=["GET"]),
    Route("/v2/dlq", delete_many, methods=["DELETE"]),
    Route("/v2/dlq/retry", retry_many, methods=["POST"]),
    Route("/v2/dlq/retry/{dlq_id}", retry_one, methods=["POST"]),
    Route("/v2/dlq/{dlq_id}", get_dlq, methods=["GET"]),
    Route("/v2/dlq/{dlq_id}", delete_dlq, methods=["DELETE"]),
]
