"""Every error is a proper HTTP answer on a connection that stays usable, logged once."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import httpx
import pytest

from pytest_qstash.serving import ServerThread
from qstash_emulator import Emulator, Settings, create_app
from qstash_emulator.core.model import Message
from qstash_emulator.core.tenants import DEFAULT_TOKEN
from qstash_emulator.storage.memory import MemoryStore
from qstash_emulator.storage.memory.messages import MemoryMessages

AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
PUBLISH = "/v2/publish/http://127.0.0.1:9/x"


class StoreDown(MemoryMessages):
    def put_message(self, message: Message) -> None:
        raise ConnectionError("store unreachable")


class StoreBug(MemoryMessages):
    def put_message(self, message: Message) -> None:
        raise KeyError("a bug")


def serve(messages: MemoryMessages) -> ServerThread:
    store = MemoryStore()
    store.messages = messages
    return ServerThread(create_app(Emulator(Settings(clock="virtual"), store=store)),
                        lifespan="on")


@pytest.fixture(params=[StoreDown, StoreBug], ids=["outside failure", "bug"])
def failing(request: pytest.FixtureRequest) -> Iterator[ServerThread]:
    with serve(request.param(max_finished=100)) as served:
        yield served


def raw_exchange(url: str, requests: list[bytes]) -> list[bytes]:
    """Send each request on ONE socket after the previous answer was read; the answers."""
    host, port = url.removeprefix("http://").split(":")
    answers = []
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        stream = sock.makefile("rb")
        for request in requests:
            sock.sendall(request)
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                line = stream.readline()
                assert line, f"connection closed after {len(answers)} answers"
                head += line
            length = next(int(h.split(b":")[1]) for h in head.split(b"\r\n")
                          if h.lower().startswith(b"content-length:"))
            answers.append(head + stream.read(length))
    return answers


def request_bytes(method: str, path: str, body: bytes = b"") -> bytes:
    return (f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH['Authorization']}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def test_an_unexpected_failure_keeps_the_connection(failing: ServerThread) -> None:
    first, second, third = raw_exchange(failing.url, [
        request_bytes("POST", PUBLISH, b"x"), request_bytes("GET", "/v2/keys"),
        request_bytes("POST", PUBLISH, b"y")])
    assert first.startswith(b"HTTP/1.1 500") and b'{"error":"internal error: ' in first
    assert b"connection: close" not in first.lower()
    assert second.startswith(b"HTTP/1.1 200") and b'"current"' in second
    assert third.startswith(b"HTTP/1.1 500")


def test_a_keep_alive_client_goes_on_after_a_500(failing: ServerThread) -> None:
    with httpx.Client(base_url=failing.url, headers=AUTH) as client:
        for _ in range(3):
            answer = client.post(PUBLISH, content=b"x")
            assert answer.status_code == 500 and "error" in answer.json()
            assert client.get("/v2/keys").status_code == 200


def test_an_outside_failure_is_one_line_and_a_bug_has_its_traceback(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    for messages, traceback in ((StoreDown(max_finished=100), False),
                                (StoreBug(max_finished=100), True)):
        caplog.clear()
        with serve(messages) as served:
            httpx.post(served.url + PUBLISH, content=b"x", headers=AUTH)
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1, [r.getMessage() for r in errors]
        assert errors[0].getMessage().startswith(f"POST {PUBLISH} failed: ")
        assert (errors[0].exc_info is not None) is traceback


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/__emulator__/clock/advance"), ("PUT", "/__emulator__/quota"),
    ("POST", "/__emulator__/outage"), ("POST", "/__emulator__/faults"),
    ("POST", "/v2/batch"), ("POST", "/v2/queues"), ("POST", "/v2/topics/g/endpoints"),
    ("DELETE", "/v2/dlq"), ("POST", "/v2/dlq/retry"),
])
@pytest.mark.parametrize("body", [b"{not json", b'{"a": NaN}', b"\xff\xfe"])
def test_malformed_json_is_a_400_on_a_kept_connection(method: str, path: str,
                                                      body: bytes) -> None:
    with serve(MemoryMessages(max_finished=100)) as served:
        bad, good = raw_exchange(served.url, [request_bytes(method, path, body),
                                              request_bytes("GET", "/v2/keys")])
    assert bad.startswith(b"HTTP/1.1 400"), bad
    assert b"application/json" in bad and b'{"error":' in bad
    assert good.startswith(b"HTTP/1.1 200")


def test_a_failure_after_a_complete_answer_is_logged_once_and_keeps_the_connection(
        caplog: pytest.LogCaptureFixture) -> None:
    from starlette.background import BackgroundTask
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    def fail_later() -> None:
        raise ConnectionError("gone after the answer")

    async def answered_then_failing(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True}, background=BackgroundTask(fail_later))

    caplog.set_level(logging.WARNING)
    app = create_app(Emulator(Settings(clock="virtual")))
    app.router.routes.append(Route("/later", answered_then_failing))
    with ServerThread(app, lifespan="on") as served:
        first, second = raw_exchange(served.url, [request_bytes("GET", "/later"),
                                                  request_bytes("GET", "/v2/keys")])
    assert first.startswith(b"HTTP/1.1 200") and second.startswith(b"HTTP/1.1 200")
    assert [r.getMessage() for r in caplog.records] == [
        "GET /later failed: ConnectionError: gone after the answer"]
