"""The HTTP/1.1 protocol the emulator is served with: uvicorn's httptools protocol, with the
header limits enforced while the headers arrive and every refusal in QStash's JSON format.

uvicorn answers a request it cannot parse itself, in plain text, before any application sees
it; this subclass gives that answer a JSON body, and answers 431 as soon as the headers pass
`MAX_HEADER_COUNT` or `MAX_HEADER_BYTES` (or, still unfinished, `MAX_HEAD_BYTES` on the wire),
without reading the rest of the request. `header_limit_error` is the same rule for servers
that run the app another way (the ASGI app checks it again).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ..core import protocol as p

MAX_HEAD_BYTES = 1024 * 1024
HEADERS_CHECKED = "qstash_emulator.headers_checked"
"""Left in the scope by the protocol below: the request's headers are within the limits."""
"""Bytes of an unfinished request line and headers kept before the connection is refused."""
REASONS = {400: b"Bad Request", 431: b"Request Header Fields Too Large"}


class TooManyHeaderBytes(ValueError):
    """Raised inside the parser's header callback; the parser stops at once."""


def header_limit_error(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The 431 error text when `headers` pass the limits, else None."""
    size = 0
    for count, (name, value) in enumerate(headers, 1):
        size += len(name) + len(value)
        if count > p.MAX_HEADER_COUNT or size > p.MAX_HEADER_BYTES:
            return p.HEADERS_TOO_LARGE.format(count=p.MAX_HEADER_COUNT, size=p.MAX_HEADER_BYTES)
    return None


class EmulatorHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header limits and JSON refusals."""

    _header_count = 0
    _header_bytes = 0
    _head_bytes = 0
    _in_head = False
    _refused_headers = False

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_count = self._header_bytes = self._head_bytes = 0
        self._in_head = True

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        self._header_bytes += len(name) + len(value)
        if self._header_count > p.MAX_HEADER_COUNT or self._header_bytes > p.MAX_HEADER_BYTES:
            self._refused_headers = True
            raise TooManyHeaderBytes
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        cast(dict[str, object], self.scope)[HEADERS_CHECKED] = True  # not counted again
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
