"""The test-harness control API under `/__emulator__/`: quotas, the outage switch, faults.

Every call acts on the calling token's tenant (the default dev user without a token), or on
every tenant with `?all=true`.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core import protocol as p
from ..core.errors import BadRequest, NotFound
from ..core.harness.faults import FaultRule
from ..core.harness.outages import Outage, parse_outage
from ..core.harness.quotas import Plan, Quotas, Window
from ..core.tenants import DEFAULT_TOKEN
from .common import FastJSON, emulator_of, read_json, token_of

Json = dict[str, Any]


def scope_of(request: Request) -> str | None:
    """The calling tenant (the default dev user without a token); None with `?all=true`."""
    if request.query_params.get("all", "").lower() == "true":
        return None
    return emulator_of(request).service.authenticate(token_of(request) or DEFAULT_TOKEN).name


# --- quota ----------------------------------------------------------------------------------


def quota_json(quotas: Quotas, tenant: str) -> Json:
    windows = {}
    for window in Window:
        status = quotas.status(tenant, window)
        windows[window.value] = {"limit": status.limit, "used": status.used,
                                 "remaining": status.remaining, "reset": status.reset_s}
    limits = {f.name: quotas.limit(tenant, f.name) for f in fields(Plan) if f.name != "name"}
    return {"plan": quotas.plan(tenant).name, **windows, "limits": limits}


def _all_quotas(quotas: Quotas) -> Json:
    return {"plan": quotas.plan_name, "overrides": dict(quotas.overrides),
            "tenants": {tenant: quota_json(quotas, tenant) for tenant in quotas.tenants()}}


def _quota_answer(request: Request, tenant: str | None) -> Response:
    quotas = emulator_of(request).quotas
    return FastJSON(_all_quotas(quotas) if tenant is None else quota_json(quotas, tenant))


async def get_quota(request: Request) -> Response:
    return _quota_answer(request, scope_of(request))


async def put_quota(request: Request) -> Response:
    tenant = scope_of(request)
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadRequest('invalid body: want {"daily": N, "monthly": N, "burst": N, "plan": ...}')
    emulator_of(request).quotas.configure(tenant, body)
    return _quota_answer(request, tenant)


async def exhaust_quota(request: Request) -> Response:
    tenant = scope_of(request)
    body = await read_json(request)
    raw = body.get("window", "daily") if isinstance(body, dict) else None
    if raw not in (Window.DAILY.value, Window.MONTHLY.value):
        raise BadRequest('invalid body: want {"window": "daily"} or {"window": "monthly"}')
    emulator = emulator_of(request)
    tenants = [tenant] if tenant is not None else emulator.service.ctx.tenants.known()
    for name in tenants:
        emulator.quotas.exhaust(name, Window(raw))
    return _quota_answer(request, tenant)


async def reset_quota(request: Request) -> Response:
    tenant = scope_of(request)
    emulator_of(request).quotas.reset(tenant)
    return _quota_answer(request, tenant)


# --- outage ---------------------------------------------------------------------------------


def outage_json(outage: Outage) -> Json:
    return {"mode": outage.mode.value, "status": outage.status, "seconds": outage.seconds,
            "count": outage.count, "paths": list(outage.paths), "all": outage.tenant is None}


async def start_outage(request: Request) -> Response:
    tenant = scope_of(request)
    outage = parse_outage(await read_json(request), tenant)
    emulator_of(request).outages.start(outage)
    return FastJSON(outage_json(outage))


async def get_outage(request: Request) -> Response:
    tenant = scope_of(request)
    outages = [o for o in emulator_of(request).outages.active()
               if tenant is None or o.tenant in (tenant, None)]
    return FastJSON({"outages": [outage_json(o) for o in outages]})


async def end_outage(request: Request) -> Response:
    tenant = scope_of(request)
    ended = emulator_of(request).outages.end(tenant, everywhere=tenant is None)
    return FastJSON({"ended": ended})


# --- faults ---------------------------------------------------------------------------------


def fault_json(rule: FaultRule) -> Json:
    data: Json = {
        "id": rule.rule_id, "match": rule.match, "match_type": rule.match_type.value,
        "statuses": list(rule.statuses), "latency_ms": rule.latency_ms, "timeout": rule.timeout,
        "connection_error": rule.connection_error, "probability": rule.probability,
        "seed": rule.seed, "duplicate_after_s": rule.duplicate_after_s,
        "signature": rule.signature.value if rule.signature else None,
        "all": rule.tenant is None,
    }
    return data


async def add_fault(request: Request) -> Response:
    tenant = scope_of(request)
    rule = emulator_of(request).faults.add(await read_json(request), tenant)
    return FastJSON({"id": rule.rule_id, "fault": fault_json(rule)})


async def list_faults(request: Request) -> Response:
    rules = emulator_of(request).faults.rules(scope_of(request))
    return FastJSON({"faults": [fault_json(rule) for rule in rules]})


async def clear_faults(request: Request) -> Response:
    return FastJSON({"deleted": emulator_of(request).faults.clear(scope_of(request))})


async def remove_fault(request: Request) -> Response:
    removed = emulator_of(request).faults.remove(request.path_params["rule_id"],
                                                 scope_of(request))
    if not removed:
        raise NotFound(p.FAULT_NOT_FOUND)
    return FastJSON({"deleted": 1})


routes = [
    Route("/__emulator__/quota", get_quota, methods=["GET"]),
    Route("/__emulator__/quota", put_quota, methods=["PUT"]),
    Route("/__emulator__/quota/exhaust", exhaust_quota, methods=["POST"]),
    Route("/__emulator__/quota/reset", reset_quota, methods=["POST"]),
    Route("/__emulator__/outage", start_outage, methods=["POST"]),
    Route("/__emulator__/outage", get_outage, methods=["GET"]),
    Route("/__emulator__/outage", end_outage, methods=["DELETE"]),
    Route("/__emulator__/faults", add_fault, methods=["POST"]),
    Route("/__emulator__/faults", list_faults, methods=["GET"]),
    Route("/__emulator__/faults", clear_faults, methods=["DELETE"]),
    Route("/__emulator__/faults/{rule_id}", remove_fault, methods=["DELETE"]),
]
