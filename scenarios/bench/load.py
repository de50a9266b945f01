"""Load generation for the emulator benchmark: closed and open loops over aiohttp."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

WAIT_S = 120.0


def body(delay: int = 0) -> bytes:
    return json.dumps({"s": time.time(), "d": delay}).encode()


async def post(http: aiohttp.ClientSession, url: str, data: bytes,
               headers: dict[str, str]) -> int:
    async with http.post(url, data=data, headers=headers) as response:
        await response.read()
        return response.status


async def closed_loop(total: int, connections: int,
                      send: Callable[[int], Awaitable[int]]) -> float:
    """`connections` workers send `total` requests back to back; returns elapsed seconds."""
    counter = iter(range(total))
    statuses: dict[int, int] = {}

    async def worker() -> None:
        for i in counter:
            status = await send(i)
            statuses[status] = statuses.get(status, 0) + 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - start
    bad = {s: n for s, n in statuses.items() if s >= 300}
    if bad:
        raise RuntimeError(f"unexpected statuses {bad}")
    return elapsed


async def open_loop(rate: float, total: int, send: Callable[[int], Awaitable[int]]) -> float:
    """Send request i at i/rate seconds (not waiting for answers); returns the p99 of how late
    (ms) the requests were answered compared with their schedule (the generator's own lag)."""
    start = time.perf_counter()
    lags: list[float] = []

    async def timed(i: int) -> None:
        await send(i)
        lags.append((time.perf_counter() - start - i / rate) * 1000)

    tasks = []
    for i in range(total):
        pause = start + i / rate - time.perf_counter()
        if pause > 0:
            await asyncio.sleep(pause)
        tasks.append(asyncio.create_task(timed(i)))
    await asyncio.gather(*tasks)
    lags.sort()
    return lags[int(len(lags) * 0.99) - 1]


async def sink_stats(http: aiohttp.ClientSession, sink: str,
                     reset: bool = False) -> dict[str, Any]:
    """The sink's figures (`scenarios.bench.servers`); `reset` also starts them afresh."""
    async with http.get(f"{sink}/{'reset' if reset else 'stats'}") as response:
        stats: dict[str, Any] = await response.json(content_type=None)
        return stats


async def wait_count(http: aiohttp.ClientSession, sink: str, want: int) -> dict[str, Any]:
    deadline = time.perf_counter() + WAIT_S
    while time.perf_counter() < deadline:
        stats = await sink_stats(http, sink)
        if stats["count"] >= want:
            return stats
        await asyncio.sleep(0.02)
    raise RuntimeError(f"only {stats['count']} of {want} deliveries within {WAIT_S:g}s")
