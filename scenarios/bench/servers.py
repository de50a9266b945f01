"""The servers `scenarios.bench.emulator` starts, each in its own process under uvicorn.

    python -m scenarios.bench.servers sink PORT   # the destination: counts, latency, lateness
    python -m scenarios.bench.servers bare PORT   # ceiling 1: a bare Starlette endpoint
    python -m scenarios.bench.servers toy PORT    # ceiling 2: accept -> asyncio.Queue -> aiohttp
    python -m scenarios.bench.servers toy-lean PORT  # the toy with the emulator's delivery client
    python -m scenarios.bench.servers bare-corked PORT  # any of them with corked writes

Messages carry `{"s": <unix send time>, "d": <delay seconds>}` so the sink measures
publish-to-delivery latency and delay lateness with the load generator's clock (same machine).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from qstash_emulator.core.model import DeliveryRequest
from qstash_emulator.delivery.http1 import Http1Dispatcher
from qstash_emulator.http.wire import EmulatorHttpProtocol


class Sink:
    """Raw ASGI destination: POST /fail* answers 500, other POSTs 200 and are measured."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self.failed = 0
        self.early = 0
        self.latency: list[float] = []
        self.lateness: list[float] = []
        self.last_at = 0.0  # wall clock of the latest measured delivery

    def stats(self) -> dict[str, object]:
        return {"count": self.count, "failed": self.failed, "early": self.early,
                "last_at": self.last_at, "latency_ms": _pcts(self.latency),
                "lateness_ms": _pcts(self.lateness)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        now = time.time()
        path = scope["path"]
        status, answer = 200, b"ok"
        if scope["method"] == "GET":
            answer = json.dumps(self.stats()).encode()
            if path == "/reset":
                self.reset()
        elif path.startswith("/fail"):
            self.failed += 1
            status = 500
        else:
            self.count += 1
            self.last_at = now
            self._measure(body, now)
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": answer})

    def _measure(self, body: bytes, now: float) -> None:
        if not body.startswith(b'{"s"'):
            return
        data = json.loads(body)
        due = data["s"] + data.get("d", 0)
        if data.get("d"):
            self.lateness.append((now - due) * 1000)
            self.early += now < due
        else:
            self.latency.append((now - data["s"]) * 1000)


def _pcts(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    ordered = sorted(values)

    def rank(q: float) -> float:
        return round(ordered[max(0, min(len(ordered) - 1, int(q * len(ordered)) - 1))], 3)

    return {"p50": rank(0.5), "p99": rank(0.99), "max": round(ordered[-1], 3),
            "min": round(ordered[0], 3), "n": len(ordered)}


def bare_app() -> Starlette:
    async def publish(request: Request) -> Response:
        await request.body()
        return JSONResponse({"messageId": "msg_bare"})

    return Starlette(routes=[Route("/{path:path}", publish, methods=["POST"])])


def toy_app(workers: int = 256) -> Starlette:
    """Accept into an asyncio queue (after `delay` seconds for delayed ones), POST with aiohttp."""
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    state: dict[str, object] = {}

    async def worker(session: aiohttp.ClientSession) -> None:
        while True:
            url, body = await queue.get()
            try:
                async with session.post(url, data=body) as response:
                    await response.read()
            except aiohttp.ClientError:
                pass

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=workers))
        state["tasks"] = [asyncio.create_task(worker(session)) for _ in range(workers)]
        yield
        await session.close()

    return _toy_routes(queue, lifespan)


def lean_toy_app(workers: int = 256) -> Starlette:
    """The toy queue, POSTing with the emulator's own delivery client (`Http1Dispatcher`)."""
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    client = Http1Dispatcher(workers)

    async def worker() -> None:
        while True:
            url, body = await queue.get()
            await client.dispatch(DeliveryRequest("t", "m", url, "POST", {}, body, 30.0, 0, 0))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(worker()) for _ in range(workers)]
        yield
        for task in tasks:
            task.cancel()
        await client.aclose()

    return _toy_routes(queue, lifespan)


def _toy_routes(queue: asyncio.Queue[tuple[str, bytes]],
                lifespan: Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]
                ) -> Starlette:
    async def publish(request: Request) -> Response:
        url = request.path_params["url"]
        body = await request.body()
        delay = float(request.headers.get("upstash-delay", "0s").rstrip("s") or 0)
        if delay:
            asyncio.get_running_loop().call_later(delay, queue.put_nowait, (url, body))
        else:
            queue.put_nowait((url, body))
        return JSONResponse({"messageId": "msg_toy"})

    return Starlette(routes=[Route("/v2/publish/{url:path}", publish, methods=["POST"])],
                     lifespan=lifespan)


APPS: dict[str, Callable[[], ASGIApp]] = {"sink": Sink, "bare": bare_app, "toy": toy_app,
                                          "toy-lean": lean_toy_app}
CORKED = "-corked"


def main() -> None:
    """`KIND PORT`; a kind ending in `-corked` is served with the emulator's HTTP protocol
    (`qstash_emulator.http.wire`: an answer's writes joined into one send), the others with
    uvicorn's own."""
    kind, port = sys.argv[1], int(sys.argv[2])
    base, corked = kind.removesuffix(CORKED), kind.endswith(CORKED)
    app = APPS[base]()
    protocol: dict[str, Any] = {"http": EmulatorHttpProtocol} if corked else {}
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                **protocol)


if __name__ == "__main__":
    main()
