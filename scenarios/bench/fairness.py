"""Fair delivery and the history budget, for `scenarios.bench.reliability`.

`fair`: the p99 publish-to-delivery latency of a fast destination alone, then next to a
destination that hangs (sleeps 30 s; messages to it carry `Upstash-Timeout: 2s`), both
published at the same steady rate. `soak`: 50 tenants publish for N seconds to a memory-store
emulator with `--history-mb B`; its resident memory is sampled every second.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp

from .processes import bench_server, free_port, start_emulator, stop, wait_up

HANG_S = 30.0


async def hanging_server() -> tuple[asyncio.Server, int]:
    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(HANG_S)
        writer.close()

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def paced(
    session: aiohttp.ClientSession,
    base: str,
    target: str,
    count: int,
    rate: float,
    headers: dict[str, str],
    body: object,
) -> None:
    """Publish `count` messages at `rate` per second (the body made at send time)."""
    started = time.monotonic()
    sends = []
    for index in range(count):
        await asyncio.sleep(max(0.0, started + index / rate - time.monotonic()))
        data = json.dumps(body() if callable(body) else body)
        sends.append(
            asyncio.ensure_future(
                session.post(f"{base}/v2/publish/{target}", headers=headers, data=data)
            )
        )
    for answer in await asyncio.gather(*sends):
        answer.release()


async def fair(
    messages: int, rate: float, destination_concurrency: int | None
) -> dict[str, object]:
    sink_port, emulator_port = free_port(), free_port()
    extra = (
        []
        if destination_concurrency is None
        else ["--destination-concurrency", str(destination_concurrency)]
    )
    emulator = start_emulator(emulator_port, *extra)
    hang, hang_port = await hanging_server()
    base, sink = f"http://127.0.0.1:{emulator_port}", f"http://127.0.0.1:{sink_port}"
    auth = {"Authorization": "Bearer " + _token(), "Upstash-Retries": "0"}
    try:
        with bench_server("sink", sink_port):
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
                await wait_up(session, f"{sink}/stats")
                await wait_up(session, f"{base}/__emulator__/health")
                alone = await _fast_p99(session, base, sink, messages, rate, auth, None)
                hung = await _fast_p99(
                    session, base, sink, messages, rate, auth, f"http://127.0.0.1:{hang_port}/hang"
                )
    finally:
        stop(emulator)
        hang.close()
    return {
        "fast_alone_p99_ms": alone,
        "fast_next_to_hanging_p99_ms": hung,
        "ratio": round(hung / alone, 2) if alone and hung else None,
    }


async def _fast_p99(
    session: aiohttp.ClientSession,
    base: str,
    sink: str,
    messages: int,
    rate: float,
    auth: dict[str, str],
    hanging: str | None,
) -> float | None:
    async with session.get(f"{sink}/reset") as answer:
        await answer.read()
    stamped = {**auth, "Content-Type": "application/json"}
    runs = [
        paced(session, base, f"{sink}/fast", messages, rate, stamped, lambda: {"s": time.time()})
    ]
    if hanging is not None:
        runs.append(
            paced(
                session,
                base,
                hanging,
                messages,
                rate,
                {**stamped, "Upstash-Timeout": "2s"},
                {"x": 1},
            )
        )
    await asyncio.gather(*runs)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        async with session.get(f"{sink}/stats") as answer:
            stats = await answer.json(content_type=None)
        if stats["count"] >= messages:
            return float(stats["latency_ms"]["p99"])
        await asyncio.sleep(0.1)
    return None


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def soak(seconds: float, tenants: int, history_mb: int, workers: int) -> dict[str, object]:
    sink_port, emulator_port = free_port(), free_port()
    emulator = start_emulator(emulator_port, "--any-token", "--history-mb", str(history_mb))
    base, sink = f"http://127.0.0.1:{emulator_port}", f"http://127.0.0.1:{sink_port}"
    samples: list[float] = []
    published = 0
    try:
        with bench_server("sink", sink_port):
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
                await wait_up(session, f"{sink}/stats")
                await wait_up(session, f"{base}/__emulator__/health")
                baseline = rss_mb(emulator.pid)
                end = time.monotonic() + seconds

                async def worker(number: int) -> None:
                    nonlocal published
                    headers = {"Authorization": f"Bearer soak-tenant-{number % tenants}"}
                    while time.monotonic() < end:
                        async with session.post(
                            f"{base}/v2/publish/{sink}/soak", headers=headers, data=b"x" * 1024
                        ) as answer:
                            await answer.read()
                            published += answer.status == 200

                async def sample() -> None:
                    while time.monotonic() < end:
                        samples.append(rss_mb(emulator.pid))
                        await asyncio.sleep(1)

                await asyncio.gather(sample(), *(worker(n) for n in range(workers)))
    finally:
        stop(emulator)
    peak = max(samples, default=baseline)
    return {
        "soak_s": seconds,
        "tenants": tenants,
        "published": published,
        "history_mb": history_mb,
        "rss_start_mb": round(baseline, 1),
        "rss_peak_mb": round(peak, 1),
        "rss_growth_mb": round(peak - baseline, 1),
        "under_bound": peak - baseline <= history_mb,
    }


def _token() -> str:
    from qstash_emulator.core.tenants import DEFAULT_TOKEN

    return DEFAULT_TOKEN
