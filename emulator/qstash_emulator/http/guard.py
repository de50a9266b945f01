"""A pure ASGI middleware in front of the API routes: the outage switch and the burst limit.

Outages (`POST /__emulator__/outage`) answer `/v2/` requests before any route sees them, so a
refused request never creates anything. Modes: `error` (a status), `timeout` (hold the request
for `seconds` of wall time, then 504, or until the client gives up) and `reset` (close the
connection without a byte of answer). `/__emulator__/` paths are never affected.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from ..clocks import wall_wait
from ..core import protocol as p
from ..core.errors import BurstLimited
from ..core.harness.model import API_PREFIX, Outage, OutageMode
from .common import TENANT_KEY

if TYPE_CHECKING:
    from ..emulator import Emulator



class Guard:
    """Applies outages and the burst limit to `/v2/` requests, then calls the app."""

    def __init__(self, app: ASGIApp, emulator: Emulator, wait: Any = wall_wait) -> None:
        self.app = app
        self.emulator = emulator
        self.wait = wait

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        tenant = self._tenant(scope)
        outage = self.emulator.service.take_outage(tenant, path)
        if outage is not None:
            await self._fail(outage, receive, send)
            return
        if tenant is not None:
            try:
                self.emulator.service.hit_burst(tenant, path)
            except BurstLimited as exc:
                await _answer(send, 429, exc.message, dict(exc.headers))
                return
        await self.app(scope, receive, send)

    def _tenant(self, scope: Scope) -> str | None:
        """The caller's tenant name, also left in the scope so handlers need not look again."""
        token = _token(scope)
        found = self.emulator.service.resolve(token) if token else None
        if found is None:
            return None
        scope[TENANT_KEY] = found
        return found.name

    async def _fail(self, outage: Outage, receive: Receive, send: Send) -> None:
        if outage.mode is OutageMode.ERROR:
            await _answer(send, outage.status, p.OUTAGE_ERROR)
        elif outage.mode is OutageMode.TIMEOUT:
            seconds = self.emulator.clock.wall_seconds(outage.seconds)
            if not await self._hold(receive, seconds):
                await _answer(send, 504, p.OUTAGE_TIMEOUT)
        else:
            await _reset(receive)

    async def _hold(self, receive: Receive, seconds: float) -> bool:
        """Wait `seconds` or until the client disconnects (True: it did)."""
        waiting = asyncio.ensure_future(self.wait(seconds))
        gone = asyncio.ensure_future(_disconnected(receive))
        done, pending = await asyncio.wait({waiting, gone}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        return gone in done


def _token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            text = value.decode("latin-1")
            if text[:7].lower() == "bearer ":
                return text[7:].strip() or None
    raw_query = scope.get("query_string", b"")
    if not raw_query:
        return None
    query = parse_qs(raw_query.decode("latin-1"))
    tokens = query.get("qstash_token")
    return tokens[0] if tokens else None


async def _answer(send: Send, status: int, error: str, headers: dict[str, str] | None = None
                  ) -> None:
    body = json.dumps({"error": error}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _reset(receive: Receive) -> None:
    """Drop the connection without answering (uvicorn: abort the request's transport)."""
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionAbortedError("emulated outage: connection reset")
    transport.abort()
    await _disconnected(receive)
