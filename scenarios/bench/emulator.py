"""The emulator's benchmark, with its ceilings measured in the same run on the same machine.

Every server runs in its own process (`scenarios.bench.servers`, `python -m qstash_emulator`); this
process is the load generator (aiohttp, 64 connections unless told otherwise). Only 127.0.0.1.

  ceilings   bare Starlette endpoint (requests/s); toy queue: accept -> asyncio.Queue -> aiohttp
             (deliveries/s end to end, p99 latency at a fixed rate, delay lateness)
  emulator   publishes/s with deliveries running, deliveries/s end to end, p50/p99
             publish-to-delivery latency at 1,000 msg/s, delay lateness for 10,000 messages
             delayed 0-2 s (never early), 10,000 messages through the default retry ladder to the
             DLQ on the virtual clock; memory and Redis stores side by side (Redis when possible)

    python -m scenarios.bench.emulator                 # the full run, a few minutes
    python -m scenarios.bench.emulator --quick         # smaller counts
    python -m scenarios.bench.emulator --profile DIR   # py-spy raw profiles of its phases

Prints figures and each emulator figure as a ratio to its ceiling; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from qstash_emulator.control import AsyncEmulatorControl, FeatureUnavailable
from qstash_emulator.core.tenants import DEFAULT_TOKEN

from .figures import Results, print_profiles, report
from .load import body, closed_loop, open_loop, post, sink_stats, wait_count
from .processes import bench_server, emulator_command, free_port, redis_server, running, wait_up

AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}", "Content-Type": "application/json"}
CONTROL_TIMEOUT_S = 3600.0


@dataclass
class Sizes:
    throughput: int = 20_000
    rate: int = 1_000
    rate_seconds: int = 10
    delayed: int = 10_000
    dlq: int = 10_000
    connections: int = 64


class Bench:
    def __init__(self, http: aiohttp.ClientSession, sink: str, sizes: Sizes,
                 profile: Path | None) -> None:
        self.http, self.sink, self.sizes, self.profile = http, sink, sizes, profile
        self.r = Results()
        # open-loop sends wait for one of `connections` slots, then stamp the send time: the
        # measured latency starts when the request goes on the wire, not in the client's backlog
        self.slots = asyncio.Semaphore(sizes.connections)

    def publisher(self, base: str, path: str = "/hook", delays: list[int] | None = None
                  ) -> Callable[[int], Awaitable[int]]:
        url = f"{base}/v2/publish/{self.sink}{path}"

        async def send(i: int) -> int:
            delay = delays[i] if delays else 0
            headers = AUTH | ({"Upstash-Delay": f"{delay}s"} if delay else {})
            async with self.slots:
                return await post(self.http, url, body(delay), headers)

        return send

    async def bare(self) -> None:
        port = free_port()
        with bench_server("bare", port) as proc:
            base = f"http://127.0.0.1:{port}"
            await wait_up(self.http, base + "/v2/publish/warm", proc)
            n = self.sizes.throughput
            elapsed = await closed_loop(n, self.sizes.connections, self.publisher(base))
        self.r.figures["ceiling_bare_rps"] = n / elapsed

    async def queue_figures(self, prefix: str, base: str, pid: int) -> None:
        """Throughput, latency at a fixed rate, delay lateness: for the toy or the emulator."""
        s = self.sizes
        await sink_stats(self.http, self.sink, reset=True)
        with self.profiling(pid, f"{prefix}_throughput"):
            start = time.perf_counter()
            publish_s = await closed_loop(s.throughput, s.connections, self.publisher(base))
            await wait_count(self.http, self.sink, s.throughput)
            total_s = time.perf_counter() - start
        self.r.figures[f"{prefix}_publish_rps"] = s.throughput / publish_s
        self.r.figures[f"{prefix}_deliveries_ps"] = s.throughput / total_s
        await self.latency(prefix, base, pid)
        await self.lateness(prefix, base, pid)

    async def latency(self, prefix: str, base: str, pid: int) -> None:
        s = self.sizes
        total = s.rate * s.rate_seconds
        await sink_stats(self.http, self.sink, reset=True)
        with self.profiling(pid, f"{prefix}_latency"):
            lag_ms = await open_loop(s.rate, total, self.publisher(base))
            stats = await wait_count(self.http, self.sink, total)
        self.r.figures[f"{prefix}_send_lag_p99_ms"] = lag_ms
        self.r.figures[f"{prefix}_latency_p50_ms"] = stats["latency_ms"]["p50"]
        self.r.figures[f"{prefix}_latency_p99_ms"] = stats["latency_ms"]["p99"]

    async def lateness(self, prefix: str, base: str, pid: int) -> None:
        s = self.sizes
        rng = random.Random(1)
        delays = [rng.randint(1, 2) for _ in range(s.delayed)]
        await sink_stats(self.http, self.sink, reset=True)
        with self.profiling(pid, f"{prefix}_delays"):
            # paced at 5,000/s so that publishing itself finishes within the delays
            await open_loop(5_000, s.delayed, self.publisher(base, delays=delays))
            stats = await wait_count(self.http, self.sink, s.delayed)
        self.r.figures[f"{prefix}_lateness_p99_ms"] = stats["lateness_ms"]["p99"]
        self.r.figures[f"{prefix}_lateness_max_ms"] = stats["lateness_ms"]["max"]
        self.r.figures[f"{prefix}_early"] = stats["early"]

    async def toy(self) -> None:
        port = free_port()
        with bench_server("toy", port) as proc:
            base = f"http://127.0.0.1:{port}"
            await wait_up(self.http, base + "/v2/publish/warm", proc)
            await self.queue_figures("toy", base, proc.pid)

    async def emulator(self, store: str, env: dict[str, str] | None = None) -> None:
        port = free_port()
        with running(emulator_command(port), env) as proc:
            base = f"http://127.0.0.1:{port}"
            try:
                await wait_up(self.http, base + "/__emulator__/health", proc)
            except RuntimeError as exc:
                self.r.notes.append(f"{store} store not available: {exc}")
                return
            await self.queue_figures(f"emulator_{store}", base, proc.pid)

    async def dlq_fast_forward(self) -> None:
        port = free_port()
        with running(emulator_command(port, "--clock", "virtual")) as proc:
            base = f"http://127.0.0.1:{port}"
            await wait_up(self.http, base + "/__emulator__/health", proc)
            async with AsyncEmulatorControl(base, DEFAULT_TOKEN, CONTROL_TIMEOUT_S) as control:
                await self.dead_letter_all(base, control, proc.pid)

    async def dead_letter_all(self, base: str, control: AsyncEmulatorControl, pid: int) -> None:
        """Publish to a failing destination, then time one day of retries to the DLQ."""
        path = await self.failing_destination(control)
        n = self.sizes.dlq
        for first in range(0, n, 100):
            batch = [{"destination": f"{self.sink}{path}", "body": str(i)}
                     for i in range(first, min(n, first + 100))]
            status = await post(self.http, f"{base}/v2/batch", json.dumps(batch).encode(), AUTH)
            assert status == 200, status
        with self.profiling(pid, "emulator_dlq"):
            start = time.perf_counter()
            await control.advance(86_400)
            self.r.figures["emulator_dlq_fast_forward_s"] = time.perf_counter() - start
        self.r.figures["emulator_dlq_entries"] = await control.dlq_count()

    async def failing_destination(self, control: AsyncEmulatorControl) -> str:
        """An injected fault when the emulator has them, else the sink's real 500 path."""
        # every attempt fails (an injected 500), so each message walks the whole retry ladder
        try:
            await control.add_fault(f"{self.sink}/injected*", probability=1.0, seed=1)
        except FeatureUnavailable:
            self.r.notes.append("DLQ run: no fault injection in this build; a real destination "
                                "answering 500 (40,000 real HTTP attempts)")
            return "/fail"
        self.r.notes.append("DLQ run: destination failure injected by a fault rule")
        return "/injected"

    @contextlib.contextmanager
    def profiling(self, pid: int, name: str) -> Iterator[None]:
        if self.profile is None or shutil.which("py-spy") is None:
            yield
            return
        out = self.profile / f"{name}.txt"
        spy = subprocess.Popen(["py-spy", "record", "-p", str(pid), "-f", "raw", "-o", str(out),
                                "-r", "200", "--nonblocking"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        try:
            yield
        finally:
            spy.send_signal(2)
            try:
                spy.wait(20)
            except subprocess.TimeoutExpired:
                spy.kill()


async def run(sizes: Sizes, profile: Path | None, redis: bool) -> Results:
    sink_port = free_port()
    connector = aiohttp.TCPConnector(limit=max(sizes.connections, 1_000))
    async with aiohttp.ClientSession(connector=connector) as http:
        with bench_server("sink", sink_port) as sink_proc:
            sink = f"http://127.0.0.1:{sink_port}"
            await wait_up(http, sink + "/stats", sink_proc)
            bench = Bench(http, sink, sizes, profile)
            for step in (bench.bare, bench.toy):
                print(f"... {step.__name__}", file=sys.stderr, flush=True)
                await step()
            print("... emulator (memory store)", file=sys.stderr, flush=True)
            await bench.emulator("memory")
            print("... 10,000 messages to the DLQ on the virtual clock", file=sys.stderr)
            await bench.dlq_fast_forward()
            if redis and shutil.which("redis-server") is None:
                bench.r.notes.append("redis store: no redis-server binary")
            elif redis:
                with redis_server(None) as url:
                    print("... emulator (redis store)", file=sys.stderr, flush=True)
                    await bench.emulator("redis", env={"QSTASH_EMULATOR_STORE": url})
    return bench.r


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts (a quick look)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--profile", type=Path, help="write py-spy raw profiles into DIR")
    parser.add_argument("--no-redis", action="store_true")
    args = parser.parse_args()
    sizes = Sizes(connections=args.connections)
    if args.quick:
        sizes = Sizes(throughput=5_000, rate_seconds=3, delayed=2_000, dlq=2_000,
                      connections=args.connections)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    results = asyncio.run(run(sizes, args.profile, not args.no_redis))
    report(results)
    if args.profile:
        print_profiles(args.profile)


if __name__ == "__main__":
    main()
