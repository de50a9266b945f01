"""The delivery client: HTTP/1.1 over kept-alive connections (see `connections`).

Delivering is most of what the emulator does under load, and aiohttp's `ClientSession` spent
about 145 us of CPU per delivery on a 2-core machine (its per-request objects, cookie and
header machinery) against about 40 us here (`python -m scenarios.bench.delivery`). What this
client leaves to aiohttp (`fallback`): HEAD requests (the parser cannot be told that a
response to HEAD has no body) and URLs carrying credentials (aiohttp turns them into
`Authorization`).

Behaviour kept from aiohttp: the same default headers, no redirects followed, no
decompression, the total timeout covering connect and answer, header values refused when they
hold control characters, and a request that found its kept-alive connection closed by the
server is sent again on a new one only when its method is idempotent.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..core.model import DeliveryRequest, Response
from ..core.ports import Dispatcher
from .connections import Connection, ConnectionPool, Target, encode_request, target_of

if TYPE_CHECKING:  # both imported when first needed: start-up does not pay for them
    import ssl

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})


class Http1Dispatcher:
    """Delivers over kept-alive HTTP/1.1 connections (see the module's docstring)."""

    def __init__(self, connections: int = 256, fallback: Dispatcher | None = None,
                 tls: ssl.SSLContext | None = None) -> None:
        """`tls`: how https destinations are verified (the system's trusted roots by default).
        """
        self._connections = connections
        self._pool: ConnectionPool | None = None  # made on the loop of the first delivery
        self._fallback = fallback
        self._tls = tls

    def _loop_pool(self) -> ConnectionPool:
        """The connections of the running loop (looked up once: Python 3.11 asks the OS for
        its pid on every `get_running_loop()`); `aclose` lets the next loop make its own."""
        if self._pool is None:
            self._pool = ConnectionPool(self._connections, asyncio.get_running_loop())
        return self._pool

    async def dispatch(self, request: DeliveryRequest) -> Response:
        target = target_of(request.url)
        if target is None or request.method == "HEAD":
            return await self._fallback_dispatcher().dispatch(request)
        try:
            payload = encode_request(request, target)
        except ValueError as exc:
            return Response(0, error=f"ValueError: {exc}")
        return await self._exchange(target, request, payload)

    async def _exchange(self, target: Target, request: DeliveryRequest, payload: bytes
                        ) -> Response:
        pool = self._loop_pool()
        loop = pool.loop
        deadline = loop.time() + request.timeout_s
        retry = request.method in IDEMPOTENT
        while True:
            connection = pool.take(target.key)
            reused = connection is not None
            if connection is None:
                opened = await self._connect(pool, target, deadline, request.timeout_s)
                if isinstance(opened, Response):
                    return opened
                connection = opened
            response = await self._answer(connection, payload, deadline - loop.time(),
                                          request.timeout_s)
            if reused and retry and connection.dropped_unanswered:
                retry = False  # the server closed the kept connection as the request went out
                continue
            return response

    async def _answer(self, connection: Connection, payload: bytes, wait_s: float,
                      timeout_s: float) -> Response:
        waiter = connection.send(payload, max(wait_s, 0.0), timeout_s)
        try:
            return await waiter
        finally:
            if not waiter.done():  # cancelled while waiting
                connection.abandon()

    async def _connect(self, pool: ConnectionPool, target: Target, deadline: float,
                       timeout_s: float) -> Connection | Response:
        scheme, host, port = target.key
        tls = self._tls_context() if scheme == "https" else None
        try:
            async with asyncio.timeout_at(deadline):
                _, connection = await pool.loop.create_connection(
                    lambda: Connection(pool, target.key), host, port, ssl=tls)
        except TimeoutError:
            return Response(0, error=f"request timed out after {timeout_s:g}s")
        except OSError as exc:  # refused, unreachable, unresolvable, TLS refused
            return Response(0, error=f"ClientConnectorError: cannot connect to {host}:{port}: "
                                     f"{exc}")
        pool.opened(connection)
        return connection

    def _fallback_dispatcher(self) -> Dispatcher:
        if self._fallback is None:
            from .dispatchers import AiohttpDispatcher

            self._fallback = AiohttpDispatcher(self._connections)
        return self._fallback

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            import ssl

            self._tls = ssl.create_default_context()
        return self._tls

    async def aclose(self) -> None:
        if self._pool is not None:
            self._pool.close_all()
            self._pool = None
        if self._fallback is not None:
            await self._fallback.aclose()
