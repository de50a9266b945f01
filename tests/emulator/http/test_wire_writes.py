"""Answers go out corked (an answer's writes joined into one send at the end of the loop's
turn): each arrives whole and in order, and a connection closes only after its last answer."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from pytest_qstash.server import EmulatorServer
from qstash_emulator.core.tenants import DEFAULT_TOKEN
from qstash_emulator.http.wire import CORK_LIMIT_BYTES

PUBLISH = "/v2/publish/http://127.0.0.1:9/x"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(clock="virtual") as running:
        yield running


def publish_request(connection: str = "keep-alive") -> bytes:
    body = b'{"hello":"world"}'
    return (f"POST {PUBLISH} HTTP/1.1\r\nHost: emulator\r\nAuthorization: Bearer {DEFAULT_TOKEN}"
            f"\r\nContent-Type: application/json\r\nUpstash-Delay: 1h\r\nConnection: {connection}"
            f"\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def first_read(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """What one read returns once the answer starts arriving, split into its parts."""
    head, _, body = sock.recv(65536).partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def test_each_answer_on_a_kept_connection_arrives_whole(server: EmulatorServer) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        for _ in range(3):
            sock.sendall(publish_request())
            status, headers, body = first_read(sock)
            assert status == 200
            assert len(body) == int(headers["content-length"])
            assert json.loads(body)["messageId"].startswith("msg_")


def test_pipelined_requests_are_answered_in_order(server: EmulatorServer) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(publish_request() * 2 + publish_request("close"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    answers = data.split(b"HTTP/1.1 ")[1:]
    assert [answer.split(b" ", 1)[0] for answer in answers] == [b"200"] * 3
    ids = [json.loads(answer.partition(b"\r\n\r\n")[2])["messageId"] for answer in answers]
    assert len(set(ids)) == 3


def test_an_answer_longer_than_the_cork_arrives_whole(server: EmulatorServer) -> None:
    body = "x" * (CORK_LIMIT_BYTES * 3)
    auth = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    with httpx.Client(base_url=server.url, headers=auth) as client:
        published = client.post(PUBLISH, content=body, headers={"Upstash-Delay": "1h"})
        answer = client.get(f"/v2/messages/{published.json()['messageId']}")
    assert answer.status_code == 200 and answer.json()["body"] == body


def test_an_answer_before_the_connection_closes_arrives_whole(server: EmulatorServer) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(publish_request("close"))
        status, headers, body = first_read(sock)
        assert status == 200 and headers["connection"] == "close"
        assert json.loads(body)["messageId"].startswith("msg_")
        assert sock.recv(65536) == b""  # then the emulator closes it
