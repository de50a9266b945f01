"""`/v2/flowControl` and `/v2/globalParallelism`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.gating.flow_control import FlowControls, FlowInfo
from .common import FastJSON, emulator_of, tenant_of


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


def _flows(request: Request) -> FlowControls:
    return emulator_of(request).service.flow_control


async def list_keys(request: Request) -> Response:
    tenant = tenant_of(request)
    infos = _flows(request).list(tenant.name, request.query_params.get("search"))
    return FastJSON([flow_json(info) for info in infos])


async def get_key(request: Request) -> Response:
    tenant = tenant_of(request)
    return FastJSON(flow_json(_flows(request).get(tenant.name, request.path_params["key"])))


def _action(
    call: Callable[[FlowControls, str, str, dict[str, str]], None],
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        tenant = tenant_of(request)
        params = dict(request.query_params)
        call(_flows(request), tenant.name, request.path_params["key"], params)
        return FastJSON({})

    return endpoint


async def global_parallelism(request: Request) -> Response:
    tenant = tenant_of(request)
    info = _flows(request).global_parallelism(tenant.name)
    return FastJSON({"parallelismMax": info.maximum, "parallelismCount": info.count})


ACTIONS: dict[str, Callable[[FlowControls, str, str, dict[str, str]], None]] = {
    "pause": lambda flows, tenant, key, _: flows.set_paused(tenant, key, True),
    "resume": lambda flows, tenant, key, _: flows.set_paused(tenant, key, False),
    "pin": lambda flows, tenant, key, params: flows.pin(tenant, key, params),
    "unpin": lambda flows, tenant, key, params: flows.unpin(tenant, key, params),
    "resetRate": lambda flows, tenant, key, _: flows.reset_rate(tenant, key),
    "reset": lambda flows, tenant, key, _: flows.reset(tenant, key),
}

routes = [
    Route("/v2/flowControl", list_keys, methods=["GET"]),
    Route("/v2/flowControl/{key}", get_key, methods=["GET"]),
    *(Route(f"/v2/flowControl/{{key}}/{name}", _action(call), methods=["POST"])
      for name, call in ACTIONS.items()),
    Route("/v2/globalParallelism", global_parallelism, methods=["GET"]),
]
