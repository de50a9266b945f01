"""The scenario's destinations: one local aiohttp server, one path per destination.

Each answers by its behaviour (a status per attempt, latency, lost acknowledgements) and handles
jobs idempotently by their `seq`, as an application handler should: a redelivery of a job that was
already processed is answered with the first result and counted as a handled duplicate.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ..clocks import wall_now, wall_wait
from .metrics import Arrival
from .model import Destination


class DestinationServer:
    """Serve every destination of a scenario on 127.0.0.1 and record each request."""

    def __init__(self, destinations: tuple[Destination, ...], *, now_t: Callable[[], float],
                 speed: float = 1.0, seed: int = 1) -> None:
        self._by_name = {d.name: d for d in destinations}
        self._now_t = now_t
        self._speed = speed
        self._rng = random.Random(seed)
        self._processed: set[int | str] = set()
        self.arrivals: list[Arrival] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    def url_for(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/d/{name}"

    @property
    def fresh(self) -> int:
        return sum(1 for a in self.arrivals if a.fresh)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/d/{name}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        behaviour = self._by_name.get(request.match_info["name"])
        if behaviour is None:
            return web.Response(status=404, text="unknown destination")
        body = await request.read()
        retried = _int(request.headers.get("Upstash-Retried"))
        status = behaviour.statuses[min(retried, len(behaviour.statuses) - 1)]
        if behaviour.latency_ms:
            await wall_wait(behaviour.latency_ms / 1000 / self._speed)
        key = _job_key(body, request.headers.get("Upstash-Message-Id"))
        arrival, answer = self._process(behaviour, key, status)
        self.arrivals.append(Arrival(
            seq=key if isinstance(key, int) else None,
            message_id=request.headers.get("Upstash-Message-Id"),
            wall=wall_now(), t=self._now_t(), status=answer, fresh=arrival == "fresh",
            duplicate=arrival == "duplicate",
        ))
        return web.Response(status=answer, text=arrival)

    def _process(self, behaviour: Destination, key: int | str | None,
                 status: int) -> tuple[str, int]:
        """('fresh' | 'duplicate' | 'failed', status to answer)."""
        if not 200 <= status < 300:
            return "failed", status
        if key is not None and key in self._processed:
            return "duplicate", status
        if key is not None:
            self._processed.add(key)
        lost = behaviour.duplicates and self._rng.random() < behaviour.duplicates
        return "fresh", 500 if lost else status


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def _job_key(body: bytes, message_id: str | None) -> int | str | None:
    """The job's `seq` from the JSON body (top level or one level down), else the message id."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        return message_id
    for candidate in (data, *(data.values() if isinstance(data, dict) else ())):
        if isinstance(candidate, dict) and isinstance(candidate.get("seq"), int):
            return int(candidate["seq"])
    return message_id
