"""The emulator's benchmark, with its ceilings measured in the same run on the same machine.

Every server runs in its own process (`bench_servers.py`, `python -m qstash_emulator`); this
process is the load generator (aiohttp, 64 connections unless told otherwise). Only 127.0.0.1.

  ceilings   bare Starlette endpoint (requests/s); toy queue: accept -> asyncio.Queue -> aiohttp
             (deliveries/s end to end, p99 latency at a fixed rate, delay lateness)
  emulator   publishes/s with deliveries running, deliveries/s end to end, p50/p99
             publish-to-delivery latency at 1,000 msg/s, delay lateness for 10,000 messages
             delayed 0-2 s (never early), 10,000 messages through the default retry ladder to the
             DLQ on the virtual clock; memory and Redis stores side by side (Redis when possible)

    python scenarios/bench.py                 # the full run, a few minutes
    python scenarios/bench.py --quick         # smaller counts
    python scenarios/bench.py --profile DIR   # py-spy raw profiles of the emulator's phases

Prints figures and each emulator figure as a ratio to its ceiling; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

HERE = Path(__file__).resolve().parent
TOKEN = "eyJVc2VySUQiOiJkZWZhdWx0VXNlciIsIlBhc3N3b3JkIjoiZGVmYXVsdFBhc3N3b3JkIn0="
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
WAIT_S = 120.0


@dataclass
class Sizes:
    throughput: int = 20_000
    rate: int = 1_000
    rate_seconds: int = 10
    delayed: int = 10_000
    dlq: int = 10_000
    connections: int = 64


@dataclass
class Results:
    figures: dict[str, float | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# -- processes ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def process(args: list[str],
            env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("QSTASH_EMULATOR_")}
    proc = subprocess.Popen(args, env=clean | (env or {}), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def server(kind: str, port: int) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    return process([sys.executable, str(HERE / "bench_servers.py"), kind, str(port)])


def emulator(port: int, *extra: str, env: dict[str, str] | None = None
             ) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    return process([sys.executable, "-m", "qstash_emulator", "--port", str(port), *extra],
                   env=env)


async def wait_up(http: aiohttp.ClientSession, url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(400):
        if proc.poll() is not None:
            error = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"{url}: process exited: {error.strip()[-300:]}")
        try:
            async with http.get(url) as response:
                await response.read()
                return
        except aiohttp.ClientError:
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


# -- load generation ---------------------------------------------------------------------


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


async def sink_stats(http: aiohttp.ClientSession, sink: str, reset: bool = False) -> dict:
    async with http.get(f"{sink}/{'reset' if reset else 'stats'}") as response:
        return await response.json(content_type=None)  # type: ignore[no-any-return]


async def wait_count(http: aiohttp.ClientSession, sink: str, want: int) -> dict:
    deadline = time.perf_counter() + WAIT_S
    while time.perf_counter() < deadline:
        stats = await sink_stats(http, sink)
        if stats["count"] >= want:
            return stats
        await asyncio.sleep(0.02)
    raise RuntimeError(f"only {stats['count']} of {want} deliveries within {WAIT_S:g}s")


# -- the measurements --------------------------------------------------------------------


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
        with server("bare", port) as proc:
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
        with server("toy", port) as proc:
            base = f"http://127.0.0.1:{port}"
            await wait_up(self.http, base + "/v2/publish/warm", proc)
            await self.queue_figures("toy", base, proc.pid)

    async def emulator(self, store: str, env: dict[str, str] | None = None) -> None:
        port = free_port()
        with emulator(port, env=env) as proc:
            base = f"http://127.0.0.1:{port}"
            try:
                await wait_up(self.http, base + "/__emulator__/health", proc)
            except RuntimeError as exc:
                self.r.notes.append(f"{store} store not available: {exc}")
                return
            await self.queue_figures(f"emulator_{store}", base, proc.pid)

    async def dlq_fast_forward(self) -> None:
        port = free_port()
        with emulator(port, "--clock", "virtual") as proc:
            base = f"http://127.0.0.1:{port}"
            await wait_up(self.http, base + "/__emulator__/health", proc)
            path = await self.failing_destination(base)
            n = self.sizes.dlq
            for first in range(0, n, 100):
                batch = [{"destination": f"{self.sink}{path}", "body": str(i)}
                         for i in range(first, min(n, first + 100))]
                status = await post(self.http, f"{base}/v2/batch", json.dumps(batch).encode(),
                                    AUTH)
                assert status == 200, status
            with self.profiling(proc.pid, "emulator_dlq"):
                start = time.perf_counter()
                await post(self.http, f"{base}/__emulator__/clock/advance",
                           json.dumps({"seconds": 86_400}).encode(), AUTH)
                elapsed = time.perf_counter() - start
            self.r.figures["emulator_dlq_entries"] = await self.dlq_count(base)
        self.r.figures["emulator_dlq_fast_forward_s"] = elapsed

    async def failing_destination(self, base: str) -> str:
        """An injected fault when the emulator has them, else the sink's real 500 path."""
        # every attempt fails (an injected 500), so each message walks the whole retry ladder
        fault = {"match": f"{self.sink}/injected*", "probability": 1.0, "seed": 1}
        async with self.http.post(f"{base}/__emulator__/faults", json=fault,
                                  headers=AUTH) as response:
            if response.status < 300:
                self.r.notes.append("DLQ run: destination failure injected by a fault rule")
                return "/injected"
        self.r.notes.append("DLQ run: no fault injection in this build; a real destination "
                            "answering 500 (40,000 real HTTP attempts)")
        return "/fail"

    async def dlq_count(self, base: str) -> int:
        total, cursor = 0, None
        while True:
            params = {"count": "100"} | ({"cursor": cursor} if cursor else {})
            async with self.http.get(f"{base}/v2/dlq", params=params,
                                     headers=AUTH) as response:
                page = await response.json()
            total += len(page.get("messages", []))
            cursor = page.get("cursor")
            if not cursor:
                return total

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


# -- redis, report, main -----------------------------------------------------------------


@contextlib.contextmanager
def private_redis() -> Iterator[str | None]:
    """A throw-away redis-server on a free port (never the shared 6379), or None."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir, process(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", workdir]):
        time.sleep(0.3)
        yield f"redis://127.0.0.1:{port}/0"


TARGETS = [
    # (label, figure, ceiling figure or None, target, "ratio>=" | "<=" | "==")
    ("publishes/s (memory)", "emulator_memory_publish_rps", "ceiling_bare_rps", 0.60, "ratio>="),
    ("deliveries/s end to end", "emulator_memory_deliveries_ps", "toy_deliveries_ps", 0.50,
     "ratio>="),
    ("p50 latency @1000/s (ms)", "emulator_memory_latency_p50_ms", "toy_latency_p50_ms", None,
     ""),
    ("p99 latency @1000/s (ms)", "emulator_memory_latency_p99_ms", "toy_latency_p99_ms", 50,
     "<="),
    ("  p99 publish answer lag (ms)", "emulator_memory_send_lag_p99_ms", "toy_send_lag_p99_ms",
     None, ""),
    ("delay lateness p99 (ms)", "emulator_memory_lateness_p99_ms", "toy_lateness_p99_ms", 5,
     "<="),
    ("delivered early", "emulator_memory_early", "toy_early", 0, "=="),
    ("10k to DLQ, virtual (s)", "emulator_dlq_fast_forward_s", None, 10, "<="),
    ("publishes/s (redis)", "emulator_redis_publish_rps", "emulator_memory_publish_rps", 0.50,
     "ratio>="),
    ("deliveries/s (redis)", "emulator_redis_deliveries_ps", "emulator_memory_deliveries_ps",
     None, ""),
]


def verdict(value: float | None, ceiling: float | None, target: float | None,
            kind: str) -> tuple[str, str]:
    ratio = value / ceiling if value is not None and ceiling else None
    shown = f"{ratio:.0%}" if ratio is not None else "-"
    if value is None or target is None:
        return shown, "-"
    if kind == "ratio>=":
        return shown, ("met" if ratio is not None and ratio >= target else "MISSED") + \
            f" (>= {target:.0%})"
    ok = value <= target if kind == "<=" else value == target
    return shown, ("met" if ok else "MISSED") + f" ({kind} {target:g})"


def report(results: Results) -> None:
    from rich.console import Console
    from rich.table import Table

    f = results.figures
    table = Table(title="qstash-emulator benchmark (ratios to ceilings measured in this run)")
    for column in ("figure", "emulator", "ceiling", "ratio", "target"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    for label, key, ceiling_key, target, kind in TARGETS:
        value = f.get(key)
        ceiling = f.get(ceiling_key) if ceiling_key else None
        ratio, met = verdict(value, ceiling, target, kind)
        table.add_row(label, _num(value), _num(ceiling), ratio, met)
    console = Console()
    console.print(table)
    console.print(f"ceiling: bare Starlette endpoint {_num(f.get('ceiling_bare_rps'))} req/s; "
                  f"toy queue publishes {_num(f.get('toy_publish_rps'))}/s")
    for note in results.notes:
        console.print(f"note: {note}")
    console.print_json(json.dumps({k: v for k, v in f.items()}))


def top_frames(path: Path, limit: int = 12) -> list[tuple[str, float]]:
    """Self time by leaf frame from a py-spy raw (collapsed) profile."""
    counts: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        if not stack or not number.isdigit():
            continue
        leaf = stack.split(";")[-1]
        counts[leaf] = counts.get(leaf, 0) + int(number)
        total += int(number)
    ranked = sorted(counts.items(), key=lambda item: -item[1])[:limit]
    return [(name, count / total) for name, count in ranked] if total else []


def print_profiles(directory: Path) -> None:
    for path in sorted(directory.glob("*.txt")):
        print(f"\nprofile {path.name} (self time by leaf frame):")
        for name, share in top_frames(path):
            print(f"  {share:6.1%}  {name}")


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"


async def run(sizes: Sizes, profile: Path | None, redis: bool) -> Results:
    sink_port = free_port()
    connector = aiohttp.TCPConnector(limit=max(sizes.connections, 1_000))
    async with aiohttp.ClientSession(connector=connector) as http:
        with server("sink", sink_port) as sink_proc:
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
            if redis:
                with private_redis() as url:
                    if url is None:
                        bench.r.notes.append("redis store: no redis-server binary")
                    else:
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
