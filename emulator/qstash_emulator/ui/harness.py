"""The test harness for one tenant: quotas, outages, faults, and resetting the tenant. Forms
become the same bodies the control API takes, validated by the same service calls."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request

from ..core.harness.model import OutageMode, SignatureFault
from ..core.plans import PLANS
from .frame import View, emulator_of, field, fields, page, service_of
from .views import form_body

QUOTA_LIMITS = ("daily", "monthly", "burst")


@page("harness.html")
def harness(request: Request, view: View) -> dict[str, Any]:
    service = service_of(request)
    tenant = view.tenant.name
    return {"quota": service.quota_report(tenant), "plans": tuple(PLANS),
            "outages": service.list_outages(tenant), "faults": service.list_faults(tenant),
            "outage_modes": tuple(m.value for m in OutageMode),
            "signature_faults": tuple(s.value for s in SignatureFault)}


async def set_quota(request: Request, view: View, form: FormData) -> str:
    body = form_body(fields(form), numbers=QUOTA_LIMITS)
    lifted = {name: None for name in QUOTA_LIMITS if field(form, f"lift_{name}")}
    changes = {k: v for k, v in body.items() if not k.startswith("lift_")} | lifted
    service_of(request).configure_quota(view.tenant.name, changes)
    return "quota settings saved"


async def exhaust_quota(request: Request, view: View, form: FormData) -> str:
    window = field(form, "window") or "daily"
    service_of(request).exhaust_quota(view.tenant.name, window)
    return f"{window} quota exhausted: the next publish is refused"


async def reset_quota(request: Request, view: View, form: FormData) -> str:
    service_of(request).reset_quota(view.tenant.name)
    return "quota usage reset"


async def start_outage(request: Request, view: View, form: FormData) -> str:
    body = form_body(fields(form), numbers=("status", "seconds", "count"))
    if isinstance(body.get("paths"), str):
        body["paths"] = [part.strip() for part in str(body["paths"]).split(",") if part.strip()]
    outage = service_of(request).start_outage(view.tenant.name, body)
    return f"outage started ({outage.mode.value})"


async def end_outage(request: Request, view: View, form: FormData) -> str:
    ended = service_of(request).end_outage(view.tenant.name)
    return f"ended {ended} outage{'' if ended == 1 else 's'}"


async def add_fault(request: Request, view: View, form: FormData) -> str:
    body = form_body(fields(form), numbers=("latency_ms", "probability", "seed",
                                            "duplicate_after_s"),
                     lists=("statuses",), flags=("timeout", "connection_error"))
    rule = service_of(request).add_fault(view.tenant.name, body)
    return "; ".join([f"fault {rule.rule_id} added", *rule.warnings])


async def remove_fault(request: Request, view: View, form: FormData) -> str:
    rule_id = request.path_params["rule_id"]
    service_of(request).remove_fault(view.tenant.name, rule_id)
    return f"fault {rule_id} removed"


async def reset_tenant(request: Request, view: View, form: FormData) -> str:
    emulator_of(request).reset(view.tenant.name)
    return "tenant reset: its messages, DLQ, logs, settings and harness state are gone"
