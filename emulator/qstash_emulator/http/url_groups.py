"""`/v2/topics`: URL groups (upsert and remove endpoints, get, list, delete)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.url_groups.model import UrlGroup
from .common import FastJSON, read_json, service_of, tenant_of


def url_group_json(group: UrlGroup) -> dict[str, Any]:
    endpoints = [{"url": e.url} | ({"name": e.name} if e.name else {}) for e in group.endpoints]
    return {
        "name": group.name,
        "createdAt": group.created_at_ms,
        "updatedAt": group.updated_at_ms,
        "endpoints": endpoints,
    } | ({"headers": {name: [value] for name, value in group.headers.items()}}
         if group.headers else {})


async def upsert_endpoints(request: Request) -> Response:
    tenant = tenant_of(request)
    payload = await read_json(request)
    group = service_of(request).add_endpoints(
        tenant.name, request.path_params["name"], payload
    )
    return FastJSON(url_group_json(group))


async def remove_endpoints(request: Request) -> Response:
    tenant = tenant_of(request)
    payload = await read_json(request)
    service_of(request).remove_endpoints(
        tenant.name, request.path_params["name"], payload
    )
    return FastJSON({})


async def set_headers(request: Request) -> Response:
    """`PATCH /v2/topics/{name}` with `{"headers": {...}}`: the group's default headers."""
    tenant = tenant_of(request)
    payload = await read_json(request)
    group = service_of(request).set_url_group_headers(
        tenant.name, request.path_params["name"], payload
    )
    return FastJSON(url_group_json(group))


async def get(request: Request) -> Response:
    tenant = tenant_of(request)
    group = service_of(request).get_url_group(tenant.name, request.path_params["name"])
    return FastJSON(url_group_json(group))


async def list_all(request: Request) -> Response:
    tenant = tenant_of(request)
    groups = service_of(request).list_url_groups(tenant.name)
    return FastJSON([url_group_json(group) for group in groups])


async def delete(request: Request) -> Response:
    tenant = tenant_of(request)
    service_of(request).delete_url_group(tenant.name, request.path_params["name"])
    return FastJSON({})


routes = [
    Route("/v2/topics", list_all, methods=["GET"]),
    Route("/v2/topics/{name}/endpoints", upsert_endpoints, methods=["POST"]),
    Route("/v2/topics/{name}/endpoints", remove_endpoints, methods=["DELETE"]),
    Route("/v2/topics/{name}", get, methods=["GET"]),
    Route("/v2/topics/{name}", delete, methods=["DELETE"]),
    Route("/v2/topics/{name}", set_headers, methods=["PATCH"]),
]
