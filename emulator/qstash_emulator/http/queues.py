"""`POST /v2/enqueue/{queue}/{destination}` and `/v2/queues`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.gating.queues import QueueInfo, parse_upsert
from .common import FastJSON, read_json, service_of, tenant_of
from .publish import publish_to


def queue_json(info: QueueInfo) -> dict[str, object]:
    gate = info.gate
    return {
        "name": gate.name,
        "parallelism": gate.parallelism,
        "createdAt": gate.created_at_ms,
        "updatedAt": gate.updated_at_ms,
        "lag": info.lag,
        "paused": gate.paused,
    }


async def enqueue(request: Request) -> Response:
    return await publish_to(request, request.path_params["queue"])


async def upsert(request: Request) -> Response:
    tenant = tenant_of(request)
    service_of(request).upsert_queue(tenant.name, parse_upsert(await read_json(request)))
    return FastJSON({})


async def list_queues(request: Request) -> Response:
    tenant = tenant_of(request)
    infos = service_of(request).list_queues(tenant.name)
    return FastJSON([queue_json(info) for info in infos])


async def get_queue(request: Request) -> Response:
    tenant = tenant_of(request)
    info = service_of(request).get_queue(tenant.name, request.path_params["queue"])
    return FastJSON(queue_json(info))


async def delete_queue(request: Request) -> Response:
    tenant = tenant_of(request)
    service_of(request).delete_queue(tenant.name, request.path_params["queue"])
    return FastJSON({})


async def pause(request: Request) -> Response:
    tenant = tenant_of(request)
    service_of(request).pause_queue(tenant.name, request.path_params["queue"], True)
    return FastJSON({})


async def resume(request: Request) -> Response:
    tenant = tenant_of(request)
    service_of(request).pause_queue(tenant.name, request.path_params["queue"], False)
    return FastJSON({})


routes = [
    Route("/v2/enqueue/{queue}/{destination:path}", enqueue, methods=["POST"]),
    Route("/v2/queues", upsert, methods=["POST"]),
    Route("/v2/queues", list_queues, methods=["GET"]),
    Route("/v2/queues/{queue}", get_queue, methods=["GET"]),
    Route("/v2/queues/{queue}", delete_queue, methods=["DELETE"]),
    Route("/v2/queues/{queue}/pause", pause, methods=["POST"]),
    Route("/v2/queues/{queue}/resume", resume, methods=["POST"]),
]
