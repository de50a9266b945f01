"""The HTTP/1.1 protocol the emulator is served with: uvicorn's httptools protocol, with the
header limits enforced before any application sees a request, and every refusal in QStash's
JSON format.

uvicorn answers a request it cannot parse itself, in plain text, before any application sees
it; this subclass gives that answer a JSON body, and answers 431 when the headers pass
`MAX_HEADER_COUNT` or `MAX_HEADER_BYTES` (or, still unfinished, `MAX_HEAD_BYTES` on the wire),
without reading the rest of the request. `header_limit_error` is the same rule for servers
that run the app another way (the ASGI app checks it again).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from itertools import chain
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ..core import protocol as p

MAX_HEAD_BYTES = 1024 * 1024
"""Bytes of an unfinished request line and headers kept before the connection is refused."""
HEADERS_CHECKED = "qstash_emulator.headers_checked"
"""Left in the scope by the protocol below: the request's headers are within the limits."""
REASONS = {400: b"Bad Request", 431: b"Request Header Fields Too Large"}
CORK_LIMIT_BYTES = 64 * 1024
"""Writes held back at most: more go out at once, so that a long answer written in one turn
still meets the transport's back-pressure (uvicorn waits when the transport asks it to)."""


class TooManyHeaderBytes(ValueError):
    """Raised inside the parser's headers-complete callback; the parser stops at once."""


def header_limit_error(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The 431 error text when `headers` pass the limits, else None."""
    if not isinstance(headers, Sequence):  # ASGI allows any iterable; uvicorn gives a list
        headers = list(headers)
    if len(headers) > p.MAX_HEADER_COUNT or sum(
            map(len, chain.from_iterable(headers))) > p.MAX_HEADER_BYTES:
        return p.HEADERS_TOO_LARGE.format(count=p.MAX_HEADER_COUNT, size=p.MAX_HEADER_BYTES)
    return None


class CorkedTransport:
    """A transport whose writes in one turn of the event loop go out in one send.

    uvicorn writes an answer's head and body separately; sent as they come, each is a system
    call and a TCP segment that the kernel carries to the client and wakes it for (on loopback,
    on the sender's CPU time). Writes are joined and sent once the turn ends (or before the
    connection is closed): measured with wrk on 2 cores, a third less CPU per publish."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._pending_bytes = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))
        self._pending_bytes += len(data)
        if self._pending_bytes >= CORK_LIMIT_BYTES:  # the transport's flow control takes over
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._drop_pending()
        if not self._transport.is_closing():
            self._transport.write(data)

    def _drop_pending(self) -> None:
        self._pending.clear()
        self._pending_bytes = 0

    def writelines(self, chunks: Iterable[bytes | bytearray | memoryview]) -> None:
        for chunk in chunks:
            self.write(chunk)

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._drop_pending()
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class EmulatorHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header limits, JSON refusals and corked writes."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = cast(asyncio.Transport, CorkedTransport(transport, self.loop))

    _head_bytes = 0
    _in_head = False
    _refused_headers = False

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        self._in_head = True

    def on_headers_complete(self) -> None:
        # counted once the head is complete (a callback of ours for every header costs more
        # than the count); a head that does not end is cut at MAX_HEAD_BYTES as it arrives
        if header_limit_error(self.headers) is not None:
            self._refused_headers = True
            raise TooManyHeaderBytes
        self._in_head = False
        # the app need not count them again
        self.scope[HEADERS_CHECKED] = True  # type: ignore[literal-required]
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._in_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refused_headers = True
                self.send_400_response("")

    def send_400_response(self, msg: str) -> None:
        if self._refused_headers:
            error = p.HEADERS_TOO_LARGE.format(count=p.MAX_HEADER_COUNT, size=p.MAX_HEADER_BYTES)
            self._write_error(431, error)
        else:
            self._write_error(400, p.MALFORMED_REQUEST.format(reason=msg.rstrip(".")))

    def _write_error(self, status: int, error: str) -> None:
        body = json.dumps({"error": error}).encode()
        head = [b"HTTP/1.1 %d %s\r\n" % (status, REASONS[status])]
        head += [name + b": " + value + b"\r\n" for name, value in
                 self.server_state.default_headers]
        head.append(b"content-type: application/json\r\ncontent-length: %d\r\n"
                    b"connection: close\r\n\r\n" % len(body))
        self.transport.write(b"".join(head) + body)
        self.transport.close()
