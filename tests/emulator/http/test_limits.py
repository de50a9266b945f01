"""Input limits, each answered in QStash's JSON error format: the body (read as it streams),
the batch size, request headers (count and bytes), one forwarded header, malformed HTTP."""

from __future__ import annotations

import json
import select
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pytest_qstash.server import EmulatorServer
from qstash_emulator.core import protocol as p
from qstash_emulator.core.tenants import DEFAULT_TOKEN

AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
LIMIT = 1024 * 1024
PUBLISH = "/v2/publish/http://127.0.0.1:9/x"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(clock="virtual", max_body_bytes=LIMIT) as running:
        yield running


def address(server: EmulatorServer) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").split(":")
    return host, int(port)


def answer_of(sock: socket.socket) -> tuple[int, dict[str, str], object]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed without an answer: {data!r}"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    while len(body) < int(headers["content-length"]):
        body += sock.recv(65536)
    return int(lines[0].split()[1]), headers, json.loads(body)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def nothing_stored(server: EmulatorServer) -> bool:
    return httpx.get(server.url + "/v2/events", headers=AUTH).json()["events"] == []


def test_a_chunked_body_past_the_limit_is_refused_while_it_streams(
        server: EmulatorServer) -> None:
    before_mb = rss_mb()
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"x" * 64 * 1024)
    sent = 0
    with socket.create_connection(address(server), timeout=10) as sock:
        sock.sendall(f"POST {PUBLISH} HTTP/1.1\r\nHost: x\r\nAuthorization: "
                     f"{AUTH['Authorization']}\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        while sent < 300 * LIMIT and not select.select([sock], [], [], 0)[0]:
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        status, headers, body = answer_of(sock)
    assert status == 413 and headers["connection"] == "close"
    assert body == {"error": p.BODY_TOO_LARGE.format(limit=LIMIT)}
    assert sent < 30 * LIMIT, f"the server read {sent} bytes of a {LIMIT}-byte limit"
    assert rss_mb() - before_mb < 50
    assert nothing_stored(server)


def test_a_declared_length_past_the_limit_is_refused_before_the_body(
        server: EmulatorServer) -> None:
    with socket.create_connection(address(server), timeout=10) as sock:
        sock.sendall(f"POST {PUBLISH} HTTP/1.1\r\nHost: x\r\nAuthorization: "
                     f"{AUTH['Authorization']}\r\nContent-Length: {300 * LIMIT}\r\n\r\n".encode())
        status, headers, _ = answer_of(sock)
    assert (status, headers["connection"]) == (413, "close")


def test_a_body_at_the_limit_is_taken(server: EmulatorServer) -> None:
    answer = httpx.post(server.url + PUBLISH, content=iter([b"x" * LIMIT]),
                        headers=AUTH | {"Upstash-Delay": "1d"})
    assert answer.status_code == 200, answer.text
    httpx.post(server.url + "/__emulator__/reset", headers=AUTH)


def batch(size: int) -> list[dict[str, object]]:
    return [{"destination": "http://127.0.0.1:9/x", "headers": {"Upstash-Delay": "1d"},
             "body": str(i)} for i in range(size)]


def test_a_batch_past_its_limit_is_refused_whole(server: EmulatorServer) -> None:
    answer = httpx.post(server.url + "/v2/batch", json=batch(p.MAX_BATCH_MESSAGES + 1),
                        headers=AUTH)
    assert answer.status_code == 400
    assert answer.json() == {"error": p.BATCH_TOO_LARGE.format(
        count=p.MAX_BATCH_MESSAGES + 1, limit=p.MAX_BATCH_MESSAGES)}
    assert nothing_stored(server)
    taken = httpx.post(server.url + "/v2/batch", json=batch(p.MAX_BATCH_MESSAGES),
                       headers=AUTH)
    assert taken.status_code == 200 and len(taken.json()) == p.MAX_BATCH_MESSAGES
    httpx.post(server.url + "/__emulator__/reset", headers=AUTH)


@pytest.mark.parametrize("headers", [
    {f"X-Many-{i}": "v" for i in range(p.MAX_HEADER_COUNT + 1)},
    {"X-Big": "v" * (p.MAX_HEADER_BYTES + 1)},
    {"X-Big": "v" * 1024 * 1024},
], ids=["count", "bytes", "one 1 MB header"])
def test_headers_past_the_limits_are_a_431(server: EmulatorServer,
                                           headers: dict[str, str]) -> None:
    answer = httpx.post(server.url + PUBLISH, content=b"x", headers=AUTH | headers)
    assert answer.status_code == 431
    assert answer.json() == {"error": p.HEADERS_TOO_LARGE.format(
        count=p.MAX_HEADER_COUNT, size=p.MAX_HEADER_BYTES)}
    assert nothing_stored(server)


def test_an_endless_header_line_is_cut_short(server: EmulatorServer) -> None:
    sent = 0
    with socket.create_connection(address(server), timeout=10) as sock:
        sock.sendall(b"GET /v2/keys HTTP/1.1\r\nHost: x\r\nX-Endless: ")
        while sent < 300 * LIMIT and not select.select([sock], [], [], 0)[0]:
            try:
                sock.sendall(b"v" * 65536)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += 65536
        status, _, body = answer_of(sock)
    assert status == 431 and "error" in body  # type: ignore[operator]
    assert sent < 30 * LIMIT


def test_headers_within_the_limits_are_taken(server: EmulatorServer) -> None:
    headers = {f"X-Many-{i}": "v" for i in range(100)} | {"Upstash-Forward-Big": "v" * 8000}
    answer = httpx.post(server.url + PUBLISH, content=b"x",
                        headers=AUTH | headers | {"Upstash-Delay": "1d"})
    assert answer.status_code == 200, answer.text
    httpx.post(server.url + "/__emulator__/reset", headers=AUTH)


@pytest.mark.parametrize("name", ["Upstash-Forward-Big", "Upstash-Callback-Forward-Big"])
def test_a_forwarded_header_past_its_limit_is_refused(server: EmulatorServer,
                                                      name: str) -> None:
    headers = {name: "v" * p.MAX_FORWARDED_HEADER_BYTES,
               "Upstash-Callback": "http://127.0.0.1:9/cb"}
    answer = httpx.post(server.url + PUBLISH, content=b"x", headers=AUTH | headers)
    assert answer.status_code == 400
    assert "the limit is 8192 bytes" in answer.json()["error"]
    in_batch = [{"destination": "http://127.0.0.1:9/x", "headers": headers, "body": "x"}]
    answer = httpx.post(server.url + "/v2/batch", json=in_batch, headers=AUTH)
    assert answer.status_code == 400 and "the limit is 8192 bytes" in answer.json()["error"]
    assert nothing_stored(server)


@pytest.mark.parametrize("raw", [
    b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
    b"POST /v2/batch HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
])
def test_malformed_http_is_answered_in_json(server: EmulatorServer, raw: bytes) -> None:
    with socket.create_connection(address(server), timeout=10) as sock:
        sock.sendall(raw)
        status, headers, body = answer_of(sock)
    assert (status, headers["content-type"]) == (400, "application/json")
    assert body == {"error": "invalid HTTP request: Invalid HTTP request received"}
