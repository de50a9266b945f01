from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from pytest_qstash.serving import ServerThread


async def _hello(request: Request) -> PlainTextResponse:
    started = getattr(request.app.state, "started", False)
    return PlainTextResponse(f"hello started={started}")


def _app(lifespan: Any = None) -> Starlette:
    return Starlette(routes=[Route("/", _hello)], lifespan=lifespan)


@contextlib.asynccontextmanager
async def _marking_lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.started = True
    yield


@contextlib.asynccontextmanager
async def _broken_lifespan(app: Starlette) -> AsyncIterator[None]:
    raise RuntimeError("boom during startup")
    yield  # pragma: no cover


def test_port_zero_gives_distinct_ports_and_both_serve() -> None:
    with ServerThread(_app()) as first, ServerThread(_app()) as second:
        assert first.port != second.port
        assert first.port > 0 and second.port > 0
        assert httpx.get(first.url + "/").text == "hello started=False"
        assert httpx.get(second.url + "/").status_code == 200


def test_url_and_host() -> None:
    with ServerThread(_app()) as server:
        assert server.host == "127.0.0.1"
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert not server.url.endswith("/")


def test_start_returns_self_and_stop_closes_port() -> None:
    server = ServerThread(_app())
    assert server.start() is server
    url = server.url
    assert server.running
    server.stop()
    assert not server.running
    server.stop()  # idempotent
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/", timeout=1.0)


def test_restart_reuses_port() -> None:
    server = ServerThread(_app()).start()
    port = server.port
    server.stop()
    with server:
        assert server.port == port
        assert httpx.get(server.url + "/").status_code == 200


def test_port_unknown_before_start() -> None:
    with pytest.raises(RuntimeError):
        _ = ServerThread(_app()).port


def test_double_start_is_refused() -> None:
    with ServerThread(_app()) as server, pytest.raises(RuntimeError, match="already running"):
        server.start()


def test_lifespan_runs_when_enabled_and_skipped_when_off() -> None:
    with ServerThread(_app(_marking_lifespan), lifespan="on") as server:
        assert httpx.get(server.url + "/").text == "hello started=True"
    with ServerThread(_app(_marking_lifespan), lifespan="off") as server:
        assert httpx.get(server.url + "/").text == "hello started=False"


def test_failed_startup_raises_runtime_error() -> None:
    server = ServerThread(_app(_broken_lifespan), lifespan="on")
    with pytest.raises(RuntimeError, match="startup"):
        server.start()
    assert not server.running


def test_loop_accepts_threadsafe_coroutines() -> None:
    with ServerThread(_app()) as server:
        future = asyncio.run_coroutine_threadsafe(asyncio.sleep(0, result=42), server.loop)
        assert future.result(timeout=2) == 42


def test_plain_asgi_callable() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    with ServerThread(app, lifespan="off") as server:
        assert httpx.delete(server.url + "/anything").status_code == 204
