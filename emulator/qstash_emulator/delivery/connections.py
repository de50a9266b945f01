"""HTTP/1.1 connections for deliveries: requests written by hand, answers parsed by httptools
(the parser uvicorn serves with), idle connections kept per destination for the next request."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import cast
from urllib.parse import urlsplit

import httptools

from ..core.model import DeliveryRequest, Response
from .fairness import DEFAULT_PORTS

TARGETS_KEPT = 1024
KEEP_IDLE_S = 15.0
"""How long an idle connection is kept for the next delivery to its destination."""
BODY_EXPECTED = frozenset({"POST", "PUT", "PATCH"})
FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
DEFAULT_HEADERS = {"accept": "Accept: */*\r\n",
                   "accept-encoding": "Accept-Encoding: gzip, deflate\r\n"}


@dataclass(frozen=True, slots=True)
class Target:
    """Where requests to one URL go, and the start of their request line."""

    key: tuple[str, str, int]
    host_header: str
    path: str


@lru_cache(maxsize=TARGETS_KEPT)
def target_of(url: str) -> Target | None:
    """Where requests to `url` go; None for what the fallback delivers (not http(s),
    credentials in the URL). Kept for the URLs seen last: most deliveries go to a few."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
        return None
    default_port = DEFAULT_PORTS[parts.scheme]
    host = parts.netloc.removesuffix(f":{default_port}")  # as aiohttp sends it
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target((parts.scheme, parts.hostname, port or default_port), host, path)


def encode_request(request: DeliveryRequest, target: Target) -> bytes:
    """The request's bytes; ValueError for a header holding a control character."""
    headers = request.headers
    if FORBIDDEN.search("\t".join([request.method, target.path, *headers, *headers.values()])):
        raise ValueError("Forbidden control character detected in headers")
    lines = [f"{request.method} {target.path} HTTP/1.1\r\n"]
    names = set()
    for name, value in headers.items():
        lines.append(f"{name}: {value}\r\n")
        names.add(name.lower())
    if "host" not in names:
        lines.append(f"Host: {target.host_header}\r\n")
    lines.extend(line for name, line in DEFAULT_HEADERS.items() if name not in names)
    body = request.body
    if body or request.method in BODY_EXPECTED:
        lines.append(f"Content-Length: {len(body)}\r\n")
    lines.append("\r\n")
    return "".join(lines).encode() + body


class Connection(asyncio.Protocol):
    """One kept-alive connection: sends a request, parses its answer, goes back to the pool."""

    def __init__(self, pool: ConnectionPool, key: tuple[str, str, int]) -> None:
        self._pool, self.key = pool, key
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[Response] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._framed = False  # the answer has a length or is chunked
        self._began = False  # some of the answer arrived
        self._headers_done = False
        self.dropped_unanswered = False  # the server closed it before answering
        self.closed = False
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def send(self, payload: bytes, wait_s: float, timeout_s: float
             ) -> asyncio.Future[Response]:
        """Send a request; its answer, or a failure after `wait_s` (`timeout_s` is the request's
        whole timeout, for the failure's text)."""
        assert self._transport is not None
        loop = self._pool.loop
        self._waiter = waiter = loop.create_future()
        self._began = False
        self._timer = loop.call_later(wait_s, self._time_out, timeout_s)
        self._transport.write(payload)
        return waiter

    def abandon(self) -> None:
        """Drop the connection (its answer is no longer awaited)."""
        self._resolve(None)
        self.close(abort=True)

    def close(self, *, abort: bool = False) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.abort() if abort else self._transport.close()

    def _time_out(self, timeout_s: float) -> None:
        self._resolve(Response(0, error=f"request timed out after {timeout_s:g}s"))
        self.close(abort=True)

    def _resolve(self, response: Response | None) -> None:
        waiter, self._waiter = self._waiter, None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if waiter is not None and response is not None and not waiter.done():
            waiter.set_result(response)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._resolve(Response(0, error=f"bad response: {exc}"))
            self.close(abort=True)

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._pool.forget(self)
        if self._waiter is None:
            return
        if self._headers_done and not self._framed:  # an answer that ends with the connection
            self._complete(keep_alive=False)
            return
        self.dropped_unanswered = not self._began
        reason = "incomplete answer" if self._began else "server disconnected"
        self._resolve(Response(0, error=f"ServerDisconnectedError: {reason}"))

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._began = True
        self._headers_done = False
        self._framed = False

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1")
        self._headers.setdefault(key, value.decode("latin-1"))
        if key.lower() in ("content-length", "transfer-encoding"):
            self._framed = True

    def on_headers_complete(self) -> None:
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._parser.get_status_code() < 200:  # informational: the answer follows
            self._headers, self._body, self._headers_done = {}, [], False
            return
        self._complete(keep_alive=self._parser.should_keep_alive())

    def _complete(self, *, keep_alive: bool) -> None:
        response = Response(self._parser.get_status_code(), self._headers, b"".join(self._body))
        self._headers, self._body, self._headers_done = {}, [], False
        awaited = self._waiter is not None  # else an answer nobody asked for: not kept
        self._resolve(response)
        if keep_alive and awaited and not self.closed:
            self._pool.give(self)
        else:
            self.close()


class ConnectionPool:
    """Idle connections per destination, the most recently used first; expired ones closed."""

    def __init__(self, kept_per_destination: int, loop: asyncio.AbstractEventLoop) -> None:
        self._kept = kept_per_destination
        self.loop = loop
        self._idle: dict[tuple[str, str, int], list[Connection]] = {}
        self._open: set[Connection] = set()
        self._sweep: asyncio.TimerHandle | None = None

    def take(self, key: tuple[str, str, int]) -> Connection | None:
        idle = self._idle.get(key)
        now = self.loop.time()
        while idle:
            connection = idle.pop()
            if not connection.closed and now - connection.idle_since < KEEP_IDLE_S:
                return connection
            connection.close()
        return None

    def opened(self, connection: Connection) -> None:
        self._open.add(connection)

    def give(self, connection: Connection) -> None:
        idle = self._idle.setdefault(connection.key, [])
        if len(idle) >= self._kept:
            connection.close()
            return
        connection.idle_since = self.loop.time()
        idle.append(connection)
        if self._sweep is None:
            self._sweep = self.loop.call_later(KEEP_IDLE_S, self._close_expired)

    def forget(self, connection: Connection) -> None:
        self._open.discard(connection)

    def _close_expired(self) -> None:
        self._sweep = None
        now = self.loop.time()
        for key, idle in list(self._idle.items()):
            kept = []
            for connection in idle:
                if not connection.closed and now - connection.idle_since < KEEP_IDLE_S:
                    kept.append(connection)
                else:
                    connection.close()
            if kept:
                self._idle[key] = kept
            else:
                del self._idle[key]
        if self._idle:
            self._sweep = self.loop.call_later(KEEP_IDLE_S, self._close_expired)

    def close_all(self) -> None:
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        for connection in list(self._open):
            connection.close()
        self._idle.clear()
