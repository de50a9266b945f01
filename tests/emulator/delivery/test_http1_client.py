"""The delivery client against a scripted HTTP/1.1 server on loopback: what it sends, how it
reads each framing of an answer, when it keeps, drops or replaces a connection, and how each
failure reads."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import trustme

from qstash_emulator.core.model import DeliveryRequest, Response
from qstash_emulator.delivery.connections import KEEP_IDLE_S, Connection, ConnectionPool
from qstash_emulator.delivery.dispatchers import FunctionDispatcher
from qstash_emulator.delivery.http1 import Http1Dispatcher

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Seen: first\r\nX-Seen: second\r\n\r\nok"
CLOSE = b"close"  # close the connection without answering
HANG = b"hang"  # never answer


@dataclass
class ScriptedServer:
    """Answers the n-th request it reads with the n-th scripted answer."""

    answers: list[bytes]
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while await self._answer_one(reader, writer):
                pass
        writer.close()

    async def _answer_one(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        self.requests.append(head + await reader.readexactly(length))
        answer = self.answers.pop(0)
        if answer == CLOSE:
            return False
        if answer == HANG:  # until the client gives up on it
            await reader.read()
            return False
        writer.write(answer)
        await writer.drain()
        return b"Content-Length" in answer or b"chunked" in answer


@contextlib.asynccontextmanager
async def scripted(*answers: bytes, tls: ssl.SSLContext | None = None
                   ) -> AsyncIterator[tuple[ScriptedServer, str]]:
    script = ScriptedServer(list(answers))
    server = await asyncio.start_server(script.handle, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    try:
        yield script, f"{'https' if tls else 'http'}://127.0.0.1:{port}/hook?x=1"
    finally:
        server.close()


def request(url: str, method: str = "POST", headers: dict[str, str] | None = None,
            body: bytes = b'{"n":1}', timeout_s: float = 5.0) -> DeliveryRequest:
    return DeliveryRequest("t", "msg_1", url, method, headers or {"Upstash-Message-Id": "msg_1"},
                           body, timeout_s, 0, 0)


@pytest.mark.anyio
async def test_requests_reuse_one_kept_connection_and_carry_what_aiohttp_sent() -> None:
    client = Http1Dispatcher()
    async with scripted(OK, OK) as (server, url):
        first = await client.dispatch(request(url))
        second = await client.dispatch(request(url, "PUT", body=b"two"))
    await client.aclose()
    assert (first.status, first.body, first.error) == (200, b"ok", None)
    assert first.headers["X-Seen"] == "first"
    assert second.status == 200 and server.connections == 1
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /hook?x=1 HTTP/1.1" and body == b'{"n":1}'
    assert {b"Upstash-Message-Id: msg_1", b"Accept: */*", b"Content-Length: 7",
            b"Accept-Encoding: gzip, deflate", b"Host: " + url.split("/")[2].encode()
            } <= set(lines)
    assert server.requests[1].endswith(b"Content-Length: 3\r\n\r\ntwo")


@pytest.mark.anyio
async def test_chunked_answers_are_joined() -> None:
    chunked = (b"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    client = Http1Dispatcher()
    async with scripted(chunked, OK) as (server, url):
        failed = await client.dispatch(request(url))
        again = await client.dispatch(request(url))
    await client.aclose()
    assert (failed.status, failed.body) == (500, b"hello world")
    assert again.status == 200 and server.connections == 1


@pytest.mark.anyio
async def test_an_answer_without_length_ends_with_its_connection() -> None:
    until_close = b"HTTP/1.1 202 Accepted\r\nConnection: close\r\n\r\nall of it"
    client = Http1Dispatcher()
    async with scripted(until_close, OK) as (server, url):
        answer = await client.dispatch(request(url))
        after = await client.dispatch(request(url))
    await client.aclose()
    assert (answer.status, answer.body, answer.error) == (202, b"all of it", None)
    assert after.status == 200 and server.connections == 2


@pytest.mark.anyio
async def test_an_informational_answer_is_skipped() -> None:
    early_hints = b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" + OK
    client = Http1Dispatcher()
    async with scripted(early_hints) as (_, url):
        answer = await client.dispatch(request(url))
    await client.aclose()
    assert (answer.status, answer.body) == (200, b"ok") and "Link" not in answer.headers


@pytest.mark.anyio
async def test_a_connection_closed_after_an_informational_answer_fails_the_attempt() -> None:
    client = Http1Dispatcher()
    async with scripted(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n") as (_, url):
        answer = await client.dispatch(request(url))
    await client.aclose()
    assert answer == Response(0, error="ServerDisconnectedError: incomplete answer")


@pytest.mark.anyio
async def test_a_timeout_fails_the_attempt_and_drops_its_connection() -> None:
    client = Http1Dispatcher()
    async with scripted(HANG, OK) as (server, url):
        late = await client.dispatch(request(url, timeout_s=0.2))
        after = await client.dispatch(request(url))
    await client.aclose()
    assert late == Response(0, error="request timed out after 0.2s")
    assert after.status == 200 and server.connections == 2


@pytest.mark.anyio
async def test_a_refused_connection_reads_as_a_connector_error() -> None:
    async with scripted() as (_, url):
        pass  # the port is closed again
    client = Http1Dispatcher()
    answer = await client.dispatch(request(url))
    await client.aclose()
    assert answer.status == 0 and answer.error is not None
    assert answer.error.startswith("ClientConnectorError: cannot connect to 127.0.0.1:")


@pytest.mark.anyio
async def test_a_header_with_a_line_break_is_refused_before_anything_is_sent() -> None:
    client = Http1Dispatcher()
    async with scripted(OK) as (server, url):
        answer = await client.dispatch(request(url, headers={"X-Evil": "a\r\nX-Injected: 1"}))
    await client.aclose()
    assert answer.status == 0 and "Forbidden control character" in (answer.error or "")
    assert server.requests == []


@pytest.mark.anyio
@pytest.mark.parametrize(("method", "status", "connections"),
                         [("PUT", 200, 2), ("POST", 0, 1)])
async def test_a_kept_connection_closed_unanswered_is_retried_only_when_idempotent(
    method: str, status: int, connections: int
) -> None:
    client = Http1Dispatcher()
    async with scripted(OK, CLOSE, OK) as (server, url):
        await client.dispatch(request(url))
        answer = await client.dispatch(request(url, method))
    await client.aclose()
    assert answer.status == status and server.connections == connections
    if status == 0:
        assert answer.error == "ServerDisconnectedError: server disconnected"


@pytest.mark.anyio
async def test_a_cancelled_delivery_does_not_leave_its_connection_for_the_next() -> None:
    client = Http1Dispatcher()
    async with scripted(HANG, OK) as (server, url):
        waiting = asyncio.ensure_future(client.dispatch(request(url)))
        while not server.requests:
            await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        after = await client.dispatch(request(url))
    await client.aclose()
    assert after.status == 200 and server.connections == 2


@pytest.mark.anyio
@pytest.mark.parametrize("url", ["http://user:secret@127.0.0.1:9/x", "ftp://127.0.0.1/x"])
async def test_urls_with_credentials_or_other_schemes_go_to_the_fallback(url: str) -> None:
    fallback = FunctionDispatcher(lambda r: Response(204))
    client = Http1Dispatcher(fallback=fallback)
    answer = await client.dispatch(request(url))
    await client.aclose()
    assert answer.status == 204 and [r.url for r in fallback.requests] == [url]


@pytest.mark.anyio
async def test_head_requests_go_to_the_fallback() -> None:
    fallback = FunctionDispatcher(lambda r: Response(200))
    client = Http1Dispatcher(fallback=fallback)
    await client.dispatch(request("http://127.0.0.1:9/x", "HEAD", body=b""))
    await client.aclose()
    assert [r.method for r in fallback.requests] == ["HEAD"]


@pytest.mark.anyio
async def test_https_destinations_are_verified() -> None:
    authority = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_tls)
    trusting = ssl.create_default_context()
    authority.configure_trust(trusting)
    async with scripted(OK, tls=server_tls) as (_, url):
        trusted = Http1Dispatcher(tls=trusting)
        answer = await trusted.dispatch(request(url))
        await trusted.aclose()
        untrusted = Http1Dispatcher()
        refused = await untrusted.dispatch(request(url))
        await untrusted.aclose()
    assert (answer.status, answer.body) == (200, b"ok")
    assert refused.status == 0 and "CERTIFICATE_VERIFY_FAILED" in (refused.error or "")


@pytest.mark.anyio
async def test_a_connection_that_answers_unasked_is_not_kept() -> None:
    client = Http1Dispatcher()
    async with scripted(OK + OK, OK) as (server, url):  # one write: both answers read at once
        first = await client.dispatch(request(url))
        second = await client.dispatch(request(url))
    await client.aclose()
    assert first.status == 200 and second.status == 200 and server.connections == 2


@pytest.mark.anyio
async def test_an_idle_connection_is_reused_until_it_has_waited_too_long() -> None:
    pool = ConnectionPool(4, asyncio.get_running_loop())
    key = ("http", "127.0.0.1", 80)
    fresh, stale = Connection(pool, key), Connection(pool, key)
    pool.give(stale)
    stale.idle_since -= KEEP_IDLE_S  # idle for the whole keep time
    pool.give(fresh)
    assert pool.take(key) is fresh
    assert pool.take(key) is None and stale.closed
    pool.close_all()
