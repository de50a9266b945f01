"""`EmulatorApp`: Starlette with every error answered and the connection kept usable.

Starlette's outermost middleware answers an unexpected exception with the 500 handler's
response and then raises it again, so that the server can log it; uvicorn then closes the
connection (without `Connection: close`), and a keep-alive client's next request fails with a
reset it cannot tell from "maybe accepted". So here an exception after a complete answer is
only logged (unless the 500 handler logged it already); one raised before any answer, or in
the middle of a streamed one, still goes to the server (which answers 500 or closes the
stream).
Headers past the limits are refused with 431 before any route runs.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.types import Message, Receive, Scope, Send

from ..failures import report
from .errors import REPORTED, error_response
from .wire import HEADERS_CHECKED, header_limit_error


class EmulatorApp(Starlette):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        refused = None if scope.get(HEADERS_CHECKED) else header_limit_error(scope["headers"])
        if refused is not None:
            await error_response(431, refused)(scope, receive, send)
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



