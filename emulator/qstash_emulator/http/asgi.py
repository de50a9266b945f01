"""`EmulatorApp`: Starlette with every error answered and the connection kept usable.

Starlette's outermost middleware answers an unexpected exception with the 500 handler's
response and then raises it again, so that the server can log it; uvicorn then closes the
connection (without `Connection: close`), and a keep-alive client's next request fails with a
reset it cannot tell from "maybe accepted". So here an exception after a complete answer is
only logged (unless the 500 handler logged it already); one raised before any answer, or in
the middle of a streamed one, still goes to the server (which answers 500 or closes the
stream).
Headers past the limits are refused with 431 before any route runs.

The busiest route, `POST /v2/publish/...`, can be given as a `direct` route: it then runs without
Starlette's middleware layers and router (which cost as much as the publish itself), with the
same guard in front and the same error table behind it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..failures import report
from .errors import HANDLERS, REPORTED, error_response
from .wire import HEADERS_CHECKED, header_limit_error

if TYPE_CHECKING:
    from ..emulator import Emulator

ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]


@dataclass(frozen=True)
class DirectRoute:
    """`POST {prefix}{rest}` served by `app` (the guard already in front of it) with
    `{param: rest}` as its path parameters, as the router would give them."""

    prefix: str
    param: str
    app: ASGIApp


class EmulatorApp(Starlette):
    def __init__(self, *args: Any, direct: DirectRoute | None = None,
                 handlers: Mapping[type[Exception], ErrorHandler] = HANDLERS,
                 emulator: Emulator | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.direct = direct
        self.handlers = handlers
        self.emulator = emulator
        """The emulator it serves (also in `state`, whose look-ups are slower)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        refused = None if scope.get(HEADERS_CHECKED) else header_limit_error(scope["headers"])
        if refused is not None:
            await error_response(431, refused)(scope, receive, send)
            return
        direct = self.direct
        if direct is not None and scope["method"] == "POST" and scope["path"].startswith(
                direct.prefix):
            await self._direct(direct, scope, receive, send)
            return
        answered = False

        async def tracked(message: Message) -> None:
            nonlocal answered
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                answered = True

        try:
            await super().__call__(scope, receive, tracked)
        except Exception as exc:
            if not answered:
                raise
            if not scope.get(REPORTED):
                report(f"{scope['method']} {scope['path']} failed after its answer", exc)

    async def _direct(self, route: DirectRoute, scope: Scope, receive: Receive,
                      send: Send) -> None:
        """Serve a direct route: an exception before the answer started is answered from the
        error table (the connection stays usable); one after it goes to the server."""
        scope["app"] = self
        scope["path_params"] = {route.param: scope["path"][len(route.prefix):]}
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await route.app(scope, receive, tracked)
        except Exception as exc:
            if started:
                raise
            response = await self._handler(exc)(Request(scope, receive), exc)
            await response(scope, receive, send)

    def _handler(self, exc: Exception) -> ErrorHandler:
        for kind in type(exc).__mro__:
            if kind in self.handlers:
                return self.handlers[kind]
        raise exc
