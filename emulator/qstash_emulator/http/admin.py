"""The emulator-only control API under `/__emulator__/`."""

from __future__ import annotations

import os

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.errors import BadRequest
from .common import (
    FastJSON,
    control_scope,
    emulator_of,
    multi_params,
    read_json,
    service_of,
    token_of,
)
from .render import delivery_json


async def health(request: Request) -> Response:
    from ..emulator import VERSION

    emulator = emulator_of(request)
    return FastJSON({
        "status": "ok",
        "version": VERSION,
        "store": emulator.store_name,
        "clock": "virtual" if emulator.clock.virtual else "real",
        "pid": os.getpid(),  # which process answered (one of several with --workers)
    })


async def reset(request: Request) -> Response:
    tenant = control_scope(request)
    emulator_of(request).reset(tenant)
    return FastJSON({"reset": "all" if tenant is None else "tenant"})


def _clock_json(request: Request) -> dict[str, object]:
    clock = emulator_of(request).clock
    return {"now": clock.now_ms(), "virtual": clock.virtual}


async def get_clock(request: Request) -> Response:
    service_of(request).check_control_token(token_of(request))
    return FastJSON(_clock_json(request))


async def advance_clock(request: Request) -> Response:
    service_of(request).check_control_token(token_of(request))
    payload = await read_json(request)
    seconds = payload.get("seconds") if isinstance(payload, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise BadRequest('invalid body: want {"seconds": <number>}')
    await emulator_of(request).advance(seconds)
    return FastJSON(_clock_json(request))


async def deliveries(request: Request) -> Response:
    tenant = control_scope(request)
    emulator = emulator_of(request)
    params = multi_params(request)
    wanted_ids = set(params.get("messageId", []))
    tenants = [tenant] if tenant is not None else emulator.service.delivery_tenants()
    records = sorted(
        (r for t in tenants for r in emulator.service.deliveries(t)
         if not wanted_ids or r.message_id in wanted_ids),
        key=lambda r: r.seq,
    )
    return FastJSON({"deliveries": [delivery_json(record) for record in records]})


routes = [
    Route("/__emulator__/health", health, methods=["GET"]),
    Route("/__emulator__/reset", reset, methods=["POST"]),
    Route("/__emulator__/clock", get_clock, methods=["GET"]),
    Route("/__emulator__/clock/advance", advance_clock, methods=["POST"]),
    Route("/__emulator__/deliveries", deliveries, methods=["GET"]),
]
