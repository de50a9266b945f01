"""The dashboard as a Starlette sub-application, and the routes that mount it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ..core.errors import EmulatorError
from ..http.errors import STATUS_BY_CODE
from . import access, dlq, harness, messages, overview, resources, workflows
from .counts import CountsCache
from .frame import DEFAULT_KEY, PREFIX, action, render, view_of

if TYPE_CHECKING:
    from ..emulator import Emulator

POST = ["POST"]

ROUTES = [
    Route("/", overview.overview),
    Route("/stream", overview.stream),
    Route("/clock/advance", action(overview.advance), methods=POST),
    Route("/messages", messages.messages),
    Route("/messages/{message_id}", messages.message),
    Route("/messages/{message_id}/cancel", action(messages.cancel), methods=POST),
    Route("/logs", messages.logs),
    Route("/dlq", dlq.dlq),
    Route("/dlq/retry", action(dlq.retry), methods=POST),
    Route("/dlq/delete", action(dlq.delete), methods=POST),
    Route("/dlq/{dlq_id}", dlq.entry),
    Route("/schedules", resources.schedules),
    Route("/schedules/{schedule_id}/{verb}", action(resources.change_schedule), methods=POST),
    Route("/queues", resources.queues),
    Route("/queues/{name}/{verb}", action(resources.change_queue), methods=POST),
    Route("/url-groups", resources.url_groups),
    Route("/url-groups/{name}/delete", action(resources.delete_url_group), methods=POST),
    Route("/flow-control", resources.flow_control),
    Route("/flow-control/{key}/{verb}", action(resources.change_flow), methods=POST),
    Route("/keys", resources.keys),
    Route("/keys/rotate", action(resources.rotate_keys), methods=POST),
    Route("/harness", harness.harness),
    Route("/harness/quota", action(harness.set_quota), methods=POST),
    Route("/harness/quota/exhaust", action(harness.exhaust_quota), methods=POST),
    Route("/harness/quota/reset", action(harness.reset_quota), methods=POST),
    Route("/harness/outage", action(harness.start_outage), methods=POST),
    Route("/harness/outage/end", action(harness.end_outage), methods=POST),
    Route("/harness/faults", action(harness.add_fault), methods=POST),
    Route("/harness/faults/{rule_id}/remove", action(harness.remove_fault), methods=POST),
    Route("/harness/reset", action(harness.reset_tenant), methods=POST),
    Route("/workflows", workflows.runs),
    Route("/workflows/{run_id}", workflows.run),
    Route("/workflows/{run_id}/cancel", action(workflows.cancel), methods=POST),
    Route("/sign-in", access.sign_in, methods=POST),
    Route("/sign-out", access.sign_out, methods=POST),
    Mount("/static", StaticFiles(packages=[("qstash_emulator.ui", "static")])),
]


def create_ui(emulator: Emulator) -> Starlette:
    """The dashboard for `emulator`; it reads and acts through `emulator.service` only."""
    app = Starlette(routes=ROUTES, exception_handlers={
        EmulatorError: _on_emulator_error, HTTPException: _on_http_error})
    app.state.emulator = emulator
    app.state.counts = CountsCache(emulator.service.message_counts, emulator.clock.wall)
    return app


def mounted(emulator: Emulator) -> list[BaseRoute]:
    """The dashboard under `PREFIX`, and `/` sending visitors there."""
    return [Mount(PREFIX, app=create_ui(emulator)), Route("/", _home, methods=["GET"])]


async def _home(request: Request) -> Response:
    return RedirectResponse(PREFIX + "/", status_code=307)


async def _on_emulator_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, EmulatorError)
    return _error_page(request, exc.message, STATUS_BY_CODE[exc.code])


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error_page(request, str(exc.detail), exc.status_code)


def _error_page(request: Request, message: str, status: int) -> Response:
    try:
        view = view_of(request)
    except EmulatorError:
        view = view_of(request, DEFAULT_KEY)
    return render(request, view, "error.html", {"message": message}, status_code=status)
