"""`/v2/flowControl` and `/v2/globalParallelism`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.gating.flow_control import FlowInfo
from .common import FastJSON, service_of, tenant_of


def flow_json(info: FlowInfo) -> dict[str, object]:
    gate = info.gate
    return {
        "flowControlKey": gate.name,
        "waitListSize": info.wait_list_size,
        "parallelismMax": gate.parallelism or 0,
        "parallelismCount": len(gate.holders),
        "rateMax": gate.rate or 0,
        "rateCount": info.rate_count,
        "ratePeriod": gate.period_s,
        "ratePeriodStart": gate.window_start_ms // 1000,
        "isPaused": gate.paused,
        "isPinnedParallelism": gate.pinned_parallelism,
        "isPinnedRate": gate.pinned_rate,
    }


async def list_keys(request: Request) -> Response:
    tenant = tenant_of(request)
    infos = service_of(request).list_flows(tenant.name, request.query_params.get("search"))
    return FastJSON([flow_json(info) for info in infos])


async def get_key(request: Request) -> Response:
    tenant = tenant_of(request)
    return FastJSON(flow_json(service_of(request).get_flow(tenant.name,
                                                           request.path_params["key"])))


async def change_key(request: Request) -> Response:
    tenant = tenant_of(request)
    service_of(request).change_flow(tenant.name, request.path_params["key"],
                                    request.path_params["action"], dict(request.query_params))
    return FastJSON({})


async def global_parallelism(request: Request) -> Response:
    tenant = tenant_of(request)
    info = service_of(request).global_parallelism(tenant.name)
    return FastJSON({"parallelismMax": info.maximum, "parallelismCount": info.count})


routes = [
    Route("/v2/flowControl", list_keys, methods=["GET"]),
    Route("/v2/flowControl/{key}", get_key, methods=["GET"]),
    Route("/v2/flowControl/{key}/{action}", change_key, methods=["POST"]),
    Route("/v2/globalParallelism", global_parallelism, methods=["GET"]),
]
