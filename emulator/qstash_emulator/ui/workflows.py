"""Workflow runs: the newest-first list with counts by state, a run's step timeline and
waiters, and cancel (the call behind `DELETE /v2/workflows/runs/{id}`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request

from ..core.workflows.model import RunState
from .frame import View, emulator_of, page, service_of
from .messages import echoed, query

RUN_FILTERS = ("state",)
RUN_STATES = tuple(state.value for state in RunState)


def runs_version(counts: Mapping[RunState, int]) -> str:
    """The part of the page version that changes when a run starts or ends."""
    return ":" + ".".join(str(counts.get(state, 0)) for state in RunState)


def runs_snapshot(counts: Mapping[RunState, int]) -> dict[str, str]:
    """The counts by state as the live stream sends them (`data-snap="runs-RUN_STARTED"`)."""
    return {f"runs-{state.value}": f"{counts.get(state, 0):,}" for state in RunState}


@page("workflows.html")
def runs(request: Request, view: View) -> dict[str, Any]:
    service = service_of(request)
    found = service.browse_workflow_runs(view.tenant.name, query(request, RUN_FILTERS))
    counts = service.workflow_run_counts(view.tenant.name)
    return {"rows": found.runs, "cursor": found.cursor, "states": RUN_STATES,
            "filters": echoed(request, RUN_FILTERS), "counts": runs_snapshot(counts),
            "runs_version": runs_version(counts)}


@page("workflow_run.html")
def run(request: Request, view: View) -> dict[str, Any]:
    service = service_of(request)
    detail = service.workflow_run(view.tenant.name, request.path_params["run_id"])
    counts = service.workflow_run_counts(view.tenant.name)
    return {"detail": detail, "run": detail.run, "runs_version": runs_version(counts)}


async def cancel(request: Request, view: View, form: FormData) -> str:
    emulator = emulator_of(request)
    run_id = request.path_params["run_id"]
    await emulator.stored(lambda: emulator.service.end_workflow_run(
        view.tenant.name, run_id, cancel=True, response=None))
    return f"workflow run {run_id} canceled"
