"""`create_app(emulator)`: the Starlette application (no global app)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .emulator import Emulator
from .http import (
    admin,
    dlq,
    events,
    flow_control,
    harness,
    keys,
    messages,
    publish,
    queues,
    schedules,
    url_groups,
    workflows,
)
from .http.asgi import DirectRoute, EmulatorApp
from .http.errors import HANDLERS
from .http.guard import Guard
from .settings import Settings
from .ui import PREFIX


def create_app(emulator: Emulator | None = None) -> Starlette:
    """Build the ASGI app serving QStash's v2 API and the `/__emulator__/` control API.

    >>> app = create_app(Emulator(Settings(clock="virtual")))
    """
    emulator = emulator or Emulator(Settings.from_env())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await emulator.start()
        try:
            yield
        finally:
            await emulator.stop()

    routes = [
        *publish.routes,
        *messages.routes,
        *dlq.routes,
        *events.routes,
        *keys.routes,
        *schedules.routes,
        *url_groups.routes,
        *admin.routes,
        *harness.routes,
        *queues.routes,
        *flow_control.routes,
        *workflows.routes,
        *(_dashboard(emulator) if emulator.settings.ui else []),
    ]
    middleware = [Middleware(Guard, emulator=emulator)]
    direct = DirectRoute(publish.PREFIX, publish.PARAM, Guard(publish.publish, emulator))
    app = EmulatorApp(
        routes=routes, exception_handlers=HANDLERS, lifespan=lifespan, middleware=middleware,
        direct=direct, emulator=emulator,
    )
    app.state.emulator = emulator
    return app


def _dashboard(emulator: Emulator) -> list[BaseRoute]:
    """The dashboard's routes; its modules (templates, SSE) load at its first request, so that
    start-up does not wait for them."""
    dashboard: ASGIApp | None = None

    async def lazy(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal dashboard
        if dashboard is None:
            from .ui.routes import create_ui

            dashboard = create_ui(emulator)
        await dashboard(scope, receive, send)

    async def home(request: Request) -> Response:
        return RedirectResponse(PREFIX + "/", status_code=307)

    return [Mount(PREFIX, app=lazy), Route("/", home, methods=["GET"])]
