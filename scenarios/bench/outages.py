"""Redis outages under load, for `scenarios.bench.reliability`: a pause (SIGSTOP for N seconds)
and a crash (kill -9, then a restart from its append-only file), with publishes running
throughout and `/__emulator__/health` asked every 20 ms.

Counted: health latency while Redis is paused, how fast a publish gets its error, acknowledged
messages never delivered (lost), and delivered messages whose publish was answered with an error
(stored although the client was told it was not).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from qstash_emulator.core.tenants import DEFAULT_TOKEN

from .crash_redis import read_log, wait_delivered
from .processes import free_port, spawn, start_destination, start_emulator, stop, wait_up

HEALTH_EVERY_S = 0.02
RETRY_AFTER_S = 0.05
"""How long a publisher waits after an error answer before it publishes again."""
HEADERS = {"Authorization": f"Bearer {DEFAULT_TOKEN}", "Content-Type": "application/json"}


@dataclass
class Traffic:
    acknowledged: set[str] = field(default_factory=set)
    refused: int = 0
    refusal_s: list[float] = field(default_factory=list)
    health_ms: list[float] = field(default_factory=list)
    health_before_ms: list[float] = field(default_factory=list)
    running: bool = True


@contextlib.contextmanager
def own_redis(
    workdir: str, port: int | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server on `port` writing every change to its append-only file before answering."""
    port = port or free_port()
    process = spawn(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--dir",
            workdir,
        ]
    )
    try:
        yield f"redis://127.0.0.1:{port}/0", process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGCONT)
        stop(process)


async def publisher(base: str, target: str, traffic: Traffic, workers: int) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:

        async def worker() -> None:
            while traffic.running:
                started = time.monotonic()
                try:
                    async with session.post(
                        f"{base}/v2/publish/{target}", headers=HEADERS, data=b'{"x": 1}'
                    ) as answer:
                        payload = await answer.json(content_type=None)
                except aiohttp.ClientError:
                    traffic.refused += 1
                    await asyncio.sleep(RETRY_AFTER_S)
                    continue
                if answer.status == 200:
                    traffic.acknowledged.add(payload["messageId"])
                else:
                    traffic.refused += 1
                    traffic.refusal_s.append(time.monotonic() - started)
                    await asyncio.sleep(RETRY_AFTER_S)

        await asyncio.gather(*(worker() for _ in range(workers)))


async def health_poller(base: str, traffic: Traffic, window: list[float]) -> None:
    """Health latency, kept while `window` ([start, end] monotonic) is open."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        while traffic.running:
            started = time.monotonic()
            async with session.get(f"{base}/__emulator__/health") as answer:
                await answer.read()
            took = time.monotonic() - started
            if not window:
                traffic.health_before_ms.append(took * 1000)
            elif window[0] <= started and (len(window) == 1 or started <= window[1]):
                traffic.health_ms.append(took * 1000)
            await asyncio.sleep(HEALTH_EVERY_S)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


async def outage(kind: str, seconds: float, workers: int, timeout_s: float) -> dict[str, object]:
    """One run: publishes for 1 s, the outage (`pause` or `kill`), 1 s more, then delivery."""
    with (
        tempfile.TemporaryDirectory(prefix="qstash-reliability-") as workdir,
        contextlib.ExitStack() as later,
    ):
        log_path = str(Path(workdir) / "received.log")
        Path(log_path).touch()
        dest_port, emulator_port = free_port(), free_port()
        with own_redis(workdir) as (url, redis_process):
            destination = start_destination(dest_port, log_path)
            emulator = start_emulator(
                emulator_port,
                "--store",
                url,
                "--store-prefix",
                f"reliability-{uuid.uuid4().hex[:8]}",
            )
            try:
                base = f"http://127.0.0.1:{emulator_port}"
                async with aiohttp.ClientSession() as session:
                    await wait_up(session, f"http://127.0.0.1:{dest_port}/count")
                    await wait_up(session, f"{base}/__emulator__/health")
                return await _run(
                    kind,
                    seconds,
                    workers,
                    timeout_s,
                    base,
                    url,
                    redis_process,
                    (workdir, later),
                    f"http://127.0.0.1:{dest_port}/hook",
                    log_path,
                )
            finally:
                stop(emulator)
                stop(destination)


async def _run(
    kind: str,
    seconds: float,
    workers: int,
    timeout_s: float,
    base: str,
    url: str,
    redis_process: subprocess.Popen[bytes],
    restart: tuple[str, contextlib.ExitStack],
    target: str,
    log_path: str,
) -> dict[str, object]:
    traffic, window = Traffic(), list[float]()
    tasks = [
        asyncio.ensure_future(publisher(base, target, traffic, workers)),
        asyncio.ensure_future(health_poller(base, traffic, window)),
    ]
    await asyncio.sleep(1)
    window.append(time.monotonic())
    if kind == "pause":
        os.kill(redis_process.pid, signal.SIGSTOP)
        await asyncio.sleep(seconds)
        os.kill(redis_process.pid, signal.SIGCONT)
    else:
        os.kill(redis_process.pid, signal.SIGKILL)
        redis_process.wait(10)
        await asyncio.sleep(seconds)
        workdir, later = restart  # the same port and files, kept until the emulator stops
        later.enter_context(own_redis(workdir, int(url.rsplit(":", 1)[1].split("/")[0])))
    window.append(time.monotonic())
    await asyncio.sleep(1)
    traffic.running = False
    await asyncio.gather(*tasks)
    await wait_delivered(log_path, traffic.acknowledged, timeout_s)
    seen = read_log(log_path)
    return {
        f"{kind}_s": seconds,
        "acknowledged": len(traffic.acknowledged),
        "acknowledged_lost": len(traffic.acknowledged - seen.keys()),
        "error_answers": traffic.refused,
        "stored_despite_error": len(seen.keys() - traffic.acknowledged),
        "error_answer_p99_ms": percentile([s * 1000 for s in traffic.refusal_s], 0.99),
        "error_answer_max_ms": percentile([s * 1000 for s in traffic.refusal_s], 1.0),
        "health_before_p99_ms": percentile(traffic.health_before_ms, 0.99),
        "health_before_max_ms": percentile(traffic.health_before_ms, 1.0),
        "health_during_p99_ms": percentile(traffic.health_ms, 0.99),
        "health_during_max_ms": percentile(traffic.health_ms, 1.0),
        "health_checks_during": len(traffic.health_ms),
    }
