"""`create_app(emulator)`: the Starlette application (no global app)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware

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
from .http.asgi import EmulatorApp
from .http.errors import HANDLERS
from .http.guard import Guard
from .settings import Settings
from .ui import mounted


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
        *(mounted(emulator) if emulator.settings.ui else []),
    ]
    middleware = [Middleware(Guard, emulator=emulator)]
    app = EmulatorApp(
        routes=routes, exception_handlers=HANDLERS, lifespan=lifespan, middleware=middleware
    )
    app.state.emulator = emulator
    return app
