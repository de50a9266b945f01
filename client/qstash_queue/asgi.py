"""Starlette and bare-ASGI forms of `JobReceiver` (the only module importing starlette)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from .receiving import Handler, JobReceiver


def starlette_endpoint(
    receiver: JobReceiver, handler: Handler,
) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint that verifies with the request's full URL and runs `handler` once per job."""

    async def endpoint(request: Request) -> Response:
        body = await request.body()
        reply = await receiver.handle_async(
            url=str(request.url), headers=dict(request.headers), body=body, handler=handler)
        return Response(reply.body, status_code=reply.status, headers=dict(reply.headers))

    return endpoint


def failure_callback_endpoint(receiver: JobReceiver) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint that takes QStash's failure callbacks and marks their jobs failed."""

    async def endpoint(request: Request) -> Response:
        body = await request.body()
        reply = await receiver.handle_failure_callback_async(
            url=str(request.url), headers=dict(request.headers), body=body)
        return Response(reply.body, status_code=reply.status, headers=dict(reply.headers))

    return endpoint


def asgi_app(receiver: JobReceiver, handler: Handler) -> Callable[..., Awaitable[None]]:
    """A bare ASGI application around `starlette_endpoint`."""
    endpoint = starlette_endpoint(receiver, handler)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        response = await endpoint(Request(scope, receive))
        await response(scope, receive, send)

    return app
