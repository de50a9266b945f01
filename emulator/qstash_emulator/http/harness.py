"""The test-harness control API under `/__emulator__/`: quotas, the outage switch, faults.

Every call acts on the calling token's tenant, or on every tenant with `?all=true` and the
admin token.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.errors import BadRequest
from ..core.harness.model import PASS, FaultRule, Outage
from ..core.harness.quotas import QuotaReport
from ..core.service import Service
from .common import FastJSON, control_scope, read_json, service_of

Json = dict[str, Any]


# --- quota ----------------------------------------------------------------------------------


def quota_json(report: QuotaReport) -> Json:
    windows = {status.window.value: {"limit": status.limit, "used": status.used,
                                     "remaining": status.remaining, "reset": status.reset_s}
               for status in report.windows}
    return {"plan": report.plan, **windows, "limits": report.limits}


def _all_quotas(service: Service) -> Json:
    plan, overrides = service.quota_defaults()
    return {"plan": plan, "overrides": overrides,
            "tenants": {tenant: quota_json(service.quota_report(tenant))
                        for tenant in service.quota_tenants()}}


def _quota_answer(request: Request, tenant: str | None) -> Response:
    service = service_of(request)
    return FastJSON(_all_quotas(service) if tenant is None
                    else quota_json(service.quota_report(tenant)))


async def get_quota(request: Request) -> Response:
    return _quota_answer(request, control_scope(request))


async def put_quota(request: Request) -> Response:
    tenant = control_scope(request)
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadRequest('invalid body: want {"daily": N, "monthly": N, "burst": N, "plan": ...}')
    service_of(request).configure_quota(tenant, body)
    return _quota_answer(request, tenant)


async def exhaust_quota(request: Request) -> Response:
    tenant = control_scope(request)
    body = await read_json(request)
    service_of(request).exhaust_quota(
        tenant, body.get("window", "daily") if isinstance(body, dict) else None)
    return _quota_answer(request, tenant)


async def reset_quota(request: Request) -> Response:
    tenant = control_scope(request)
    service_of(request).reset_quota(tenant)
    return _quota_answer(request, tenant)


# --- outage ---------------------------------------------------------------------------------


def outage_json(outage: Outage) -> Json:
    return {"mode": outage.mode.value, "status": outage.status, "seconds": outage.seconds,
            "count": outage.count, "paths": list(outage.paths), "all": outage.tenant is None}


async def start_outage(request: Request) -> Response:
    tenant = control_scope(request)
    outage = service_of(request).start_outage(tenant, await read_json(request))
    return FastJSON(outage_json(outage))


async def get_outage(request: Request) -> Response:
    outages = service_of(request).list_outages(control_scope(request))
    return FastJSON({"outages": [outage_json(o) for o in outages]})


async def end_outage(request: Request) -> Response:
    return FastJSON({"ended": service_of(request).end_outage(control_scope(request))})


# --- faults ---------------------------------------------------------------------------------


def fault_json(rule: FaultRule) -> Json:
    return {
        "id": rule.rule_id, "match": rule.match, "match_type": rule.match_type.value,
        "statuses": [PASS if s is None else s for s in rule.statuses],
        "latency_ms": rule.latency_ms, "timeout": rule.timeout,
        "connection_error": rule.connection_error, "probability": rule.probability,
        "seed": rule.seed, "duplicate_after_s": rule.duplicate_after_s,
        "signature": rule.signature.value if rule.signature else None,
        "all": rule.tenant is None,
    }


async def add_fault(request: Request) -> Response:
    tenant = control_scope(request)
    rule = service_of(request).add_fault(tenant, await read_json(request))
    warnings = {"warnings": rule.warnings} if rule.warnings else {}
    return FastJSON({"id": rule.rule_id, "fault": fault_json(rule)} | warnings)


async def list_faults(request: Request) -> Response:
    rules = service_of(request).list_faults(control_scope(request))
    return FastJSON({"faults": [fault_json(rule) for rule in rules]})


async def clear_faults(request: Request) -> Response:
    return FastJSON({"deleted": service_of(request).clear_faults(control_scope(request))})


async def remove_fault(request: Request) -> Response:
    service_of(request).remove_fault(control_scope(request), request.path_params["rule_id"])
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
