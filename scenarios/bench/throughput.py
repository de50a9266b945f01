"""The emulator against its ceilings, driven by `wrk` (`scenarios.bench.wrk`), in one run.

Every server is its own process under the same uvicorn set-up (uvloop, httptools); wrk runs
with one thread and 64 connections against each in turn, and prints its own CPU share so that
its headroom is visible. Phases:

  closed loops (`--rounds` times, servers alternating; medians shown):
             ceiling 1, a bare Starlette POST endpoint (requests/s); the emulator's publishes/s
             with nothing due (delayed 1 h); ceiling 2, a toy queue (accept -> asyncio.Queue
             -> aiohttp): publishes/s and deliveries/s end to end, and the emulator's (memory
             store) the same way. Both ceilings are measured twice: as uvicorn serves them and
             with the emulator's corked writes (an answer's head and body in one send), so
             that the emulator is also compared with ceilings that have the same advantage
  paced      p99 publish-to-delivery latency at fixed rates (toy and emulator), lateness of
             delayed messages (never early)
  redis      the emulator on a private redis-server: publishes/s and deliveries/s, with
             1 and `--workers 2` processes

    python -m scenarios.bench.throughput                # about five minutes
    python -m scenarios.bench.throughput --rounds 1 --seconds 2 --rates 1000 --no-redis

Prints each figure with its ceiling, the ratio and the target; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from qstash_emulator.core.tenants import DEFAULT_TOKEN

from .load import sink_stats
from .processes import bench_server, emulator_command, free_port, redis_server, running, wait_up
from .throughput_report import report
from .wrk import WrkRun, run_wrk

SETTLE_S = 0.5
WARM_RATE = 200
WAIT_S = 120.0


@dataclass
class Plan:
    seconds: float = 10.0
    rates: Sequence[int] = (1_000, 2_000, 3_000)
    rate_seconds: float = 5.0
    delayed: int = 2_000
    connections: int = 64
    redis: bool = True
    workers: Sequence[int] = (1, 2)
    rounds: int = 3


@dataclass
class Figures:
    values: dict[str, float | None] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=dict)
    generator_cpu: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, key: str, value: float) -> None:
        """One round's figure; the value shown is the median of the rounds so far."""
        self.samples.setdefault(key, []).append(value)
        self.values[key] = statistics.median(self.samples[key])


class Run:
    def __init__(self, http: aiohttp.ClientSession, sink: str, plan: Plan) -> None:
        self.http, self.sink, self.plan = http, sink, plan
        self.f = Figures()

    def wrk(self, base: str, *, seconds: float | None = None, rate: float = 0.0,
            delays: tuple[int, int] = (0, 0), path: str = "/hook") -> WrkRun:
        target = f"/v2/publish/{self.sink}{path}"
        done = run_wrk(base, target, DEFAULT_TOKEN, seconds or self.plan.seconds,
                       self.plan.connections, rate, delays)
        self.f.generator_cpu.append(done.generator_cpu)
        if done.errors:
            self.f.notes.append(f"{base}: {done.errors} failed requests of {done.requests}")
        return done

    async def delivered(self, run: WrkRun) -> dict[str, Any]:
        """The sink's figures once every publish of `run` arrived (and the stragglers)."""
        deadline = time.perf_counter() + WAIT_S
        while (stats := await sink_stats(self.http, self.sink))["count"] < run.requests:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"only {stats['count']} of {run.requests} delivered")
            await asyncio.sleep(0.05)
        await asyncio.sleep(SETTLE_S)
        return await sink_stats(self.http, self.sink)

    async def closed_loops(self) -> None:
        """One round of the closed-loop figures, each server in turn (rounds alternate them,
        so that a slower minute of a shared machine does not fall on one server only)."""
        async with self.server("bare") as base:
            self.f.add("bare_rps", self.wrk(base).rate)
        async with self.server("bare-corked") as base:
            self.f.add("bare_corked_rps", self.wrk(base).rate)
        async with self.emulator() as base:
            self.f.add("memory_idle_publish_rps", self.wrk(base, delays=(3_600, 3_600)).rate)
        for name, process in (("toy", self.server("toy")),
                              ("toy_lean", self.server("toy-lean-corked")),
                              ("memory", self.emulator())):
            async with process as base:
                await self.end_to_end(name, base)

    async def paced_runs(self) -> None:
        """p99 publish-to-delivery latency at each fixed rate, and delay lateness."""
        async with self.server("toy") as base:
            await self.paced("toy", base)
        async with self.emulator() as base:
            await self.paced("memory", base)
            await self.lateness("memory", base)

    async def paced(self, name: str, base: str) -> None:
        await self.warm(base)
        for rate in self.plan.rates:
            await sink_stats(self.http, self.sink, reset=True)
            paced = self.wrk(base, seconds=self.plan.rate_seconds, rate=rate)
            latency = (await self.delivered(paced))["latency_ms"]
            self.f.values[f"{name}_p99_ms_{rate}"] = latency["p99"]
            self.f.values[f"{name}_rate_{rate}"] = paced.rate

    async def warm(self, base: str) -> None:
        """A second of light traffic, delivered, before latency is measured: the emulator
        loads its HTTP client at the first delivery (the toy queue at start-up)."""
        await sink_stats(self.http, self.sink, reset=True)
        await self.delivered(self.wrk(base, seconds=1, rate=WARM_RATE))

    async def lateness(self, name: str, base: str) -> None:
        await sink_stats(self.http, self.sink, reset=True)
        seconds = max(1, round(self.plan.delayed / 2_000))  # wrk takes whole seconds
        run = self.wrk(base, seconds=seconds, rate=self.plan.delayed / seconds, delays=(1, 2))
        stats = await self.delivered(run)
        lateness = stats["lateness_ms"]
        self.f.values[f"{name}_lateness_p99_ms"] = lateness["p99"]
        self.f.values[f"{name}_early"] = stats["early"]
        self.f.values[f"{name}_delayed"] = run.requests

    async def redis(self) -> None:
        if shutil.which("redis-server") is None:
            self.f.notes.append("redis store: no redis-server binary")
            return
        for workers in self.plan.workers:
            extra = ("--workers", str(workers)) if workers > 1 else ()
            with redis_server(None) as url:
                try:
                    async with self.emulator("--store", url, *extra) as base:
                        await self.end_to_end(f"redis{workers}", base)
                except RuntimeError as exc:
                    self.f.notes.append(f"redis store, {workers} workers: {exc}")

    async def end_to_end(self, name: str, base: str) -> None:
        """Publishes/s (closed loop, deliveries running) and deliveries/s end to end."""
        await sink_stats(self.http, self.sink, reset=True)
        run = self.wrk(base)
        stats = await self.delivered(run)
        self.f.add(f"{name}_publish_rps", run.rate)
        span = float(stats["last_at"]) - run.started_at
        self.f.add(f"{name}_deliveries_ps", int(stats["count"]) / span)

    def server(self, kind: str) -> _Process:
        port = free_port()
        return _Process(self.http, bench_server(kind, port), f"http://127.0.0.1:{port}",
                        "/v2/publish/warm")

    def emulator(self, *args: str) -> _Process:
        port = free_port()
        return _Process(self.http, running(emulator_command(port, *args)),
                        f"http://127.0.0.1:{port}", "/__emulator__/health")


class _Process:
    """A server process for an `async with` block, which gets its base URL once it answers."""

    def __init__(self, http: aiohttp.ClientSession,
                 process: AbstractContextManager[subprocess.Popen[bytes]], base: str,
                 probe: str) -> None:
        self.http, self.process, self.base, self.probe = http, process, base, probe

    async def __aenter__(self) -> str:
        proc = self.process.__enter__()
        try:
            await wait_up(self.http, self.base + self.probe, proc)
        except BaseException:
            self.process.__exit__(None, None, None)
            raise
        return self.base

    async def __aexit__(self, *exc: object) -> None:
        self.process.__exit__(None, None, None)


async def measure(plan: Plan) -> Figures:
    port = free_port()
    async with aiohttp.ClientSession() as http:
        with bench_server("sink", port) as sink_proc:
            sink = f"http://127.0.0.1:{port}"
            await wait_up(http, sink + "/stats", sink_proc)
            run = Run(http, sink, plan)
            for round_number in range(1, plan.rounds + 1):
                print(f"... closed loops, round {round_number}", file=sys.stderr, flush=True)
                await run.closed_loops()
            print("... paced", file=sys.stderr, flush=True)
            await run.paced_runs()
            if plan.redis:
                print("... redis", file=sys.stderr, flush=True)
                await run.redis()
    return run.f


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="each closed-loop run")
    parser.add_argument("--rates", type=int, nargs="+", default=[1_000, 2_000, 3_000])
    parser.add_argument("--rate-seconds", type=float, default=5.0, help="each paced run")
    parser.add_argument("--delayed", type=int, default=2_000, help="delayed messages (1-2 s)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                        help="Redis store: worker process counts to measure")
    parser.add_argument("--no-redis", action="store_true")
    parser.add_argument("--rounds", type=int, default=3,
                        help="closed-loop rounds (servers alternate; medians shown)")
    args = parser.parse_args()
    plan = Plan(args.seconds, args.rates, args.rate_seconds, args.delayed, args.connections,
                not args.no_redis, args.workers, max(1, args.rounds))
    report(asyncio.run(measure(plan)), plan.rates)


if __name__ == "__main__":
    main()
