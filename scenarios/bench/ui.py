"""The dashboard's cost: publishing while a page is open and live, and rendering a big store.

Starts the emulator (`python -m qstash_emulator --clock virtual`) as a separate process on
loopback and measures, with `wrk` and 64 connections (C, a small part of one core, so the page
does not merely take the CPU a Python load generator would need):

- publish/s of a burst of N messages (10 s delay, so nothing is delivered meanwhile and the
  figure is the cost of accepting and storing), in rounds that take turns: no page open; an SSE
  client holding the live stream and fetching the messages page whenever the counters change (as
  the page's script does), in this benchmark's process and in a process of its own; a real
  headless Chromium on the messages page. Each burst starts once the setting has been in place
  for a while (a browser's launch and first render are not part of the figure). The figure per
  setting is the median of its rounds; its slowdown is the median over rounds of the comparison
  with the no-page burst of the same round (goal: at most 5 %). Beside it, the emulator
  process's CPU time per 1,000 publishes (from /proc), compared the same way: on a busy machine
  the rate swings with other work more than the CPU the emulator spends;
- with S messages stored (sent by `/v2/batch`, kept pending), how long each page takes to render,
  median and 95th percentile of R requests (goal: the overview under 200 ms).

Prints figures; asserts nothing. The browser setting needs Playwright and a system Chromium.

    python -m scenarios.bench.ui --messages 10000 --stored 100000
    python -m scenarios.bench.ui --store redis
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from qstash_emulator.core.tenants import DEFAULT_TOKEN

from .processes import delete_prefix
from .wrk import WrkRun, run_wrk

ROOT = Path(__file__).resolve().parents[1]
TOKEN = DEFAULT_TOKEN
UI = "/__emulator__/ui"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}  # the admin token on loopback
TARGET = "http://127.0.0.1:9/hook"  # never reached: every message waits on the virtual clock
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PAGES = ("/", "/messages", "/messages?label=none", "/logs", "/dlq", "/harness")
REFRESH_EVERY_S = 1.0  # the stream looks at the counters once a second (ui/overview.py)
DELAY_S = 10  # every burst message waits on the virtual clock: the figure is accepting and storing
BURST_BOUND_S = 120  # a burst that has not finished by then is a failure, not a figure
SETTLE_S = 2.0
"""Before each burst, in every setting alike: the page has been open and live for a while (a
browser's start-up and first render are not what the goal is about)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def emulator(store_args: list[str]) -> Iterator[tuple[str, int]]:
    port = free_port()
    paths = [str(ROOT / part) for part in ("emulator", "client", "pytest_plugin")]
    env = os.environ | {"PYTHONPATH": os.pathsep.join(paths)}
    process = subprocess.Popen(
        [sys.executable, "-m", "qstash_emulator", "--port", str(port), "--clock", "virtual",
         *store_args], stdout=subprocess.DEVNULL, env=env)
    try:
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        process.wait(10)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def redis_server(url: str | None) -> Iterator[str]:
    """`url`, or a private `redis-server` without persistence on a free port."""
    if url:
        yield url
        return
    port = free_port()
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    with tempfile.TemporaryDirectory(prefix="qstash-redis-") as workdir:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", workdir], stdout=subprocess.DEVNULL)
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(10)


async def wait_up(session: aiohttp.ClientSession, base: str) -> None:
    for _ in range(400):
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(f"{base}/__emulator__/health") as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{base} did not come up")


async def burst(base: str, total: int, concurrency: int) -> WrkRun:
    """Publish `total` messages with `wrk` (C, a small part of a core: the load generator is
    not what the page competes with); returns messages per second. wrk runs in a thread of
    its own, so this process's event loop (the SSE client) goes on meanwhile."""
    run = await asyncio.to_thread(run_wrk, base, f"/v2/publish/{TARGET}", TOKEN, BURST_BOUND_S,
                                  concurrency, 0.0, (DELAY_S, DELAY_S), total)
    if run.errors:
        raise RuntimeError(f"{run.errors} of {run.requests} publishes failed, the first with "
                           f"{run.first_error}")
    return run


async def follow(base: str, refreshed: Callable[[], None]) -> None:
    """Hold the live stream; on every changed version fetch the messages page again."""
    async with aiohttp.ClientSession() as session, \
            session.get(f"{base}{UI}/stream", timeout=aiohttp.ClientTimeout()) as stream:
        async for raw in stream.content:
            line = raw.decode().strip()
            if line.startswith("data:"):
                json.loads(line[5:])
                async with session.get(f"{base}{UI}/messages") as page:
                    await page.read()
                refreshed()


@contextlib.asynccontextmanager
async def sse_client(base: str) -> AsyncIterator[list[int]]:
    """`follow` in this process's event loop, while wrk publishes."""
    refreshes: list[int] = [0]

    def refreshed() -> None:
        refreshes[0] += 1

    task = asyncio.ensure_future(follow(base, refreshed))
    try:
        yield refreshes
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def browser_page(base: str) -> AsyncIterator[list[int]]:
    """A headless Chromium on the messages page (its script keeps the page live)."""
    from playwright.async_api import async_playwright

    path = shutil.which("chromium") or shutil.which("chromium-browser")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        page = await browser.new_page()
        await page.goto(f"{base}{UI}/messages")
        await page.wait_for_selector('[data-live-status][data-state="on"]')
        refreshes = [0]
        try:
            yield refreshes
        finally:
            refreshes[0] = int(await page.evaluate("document.body.dataset.refreshes || 0"))
            await browser.close()


@contextlib.asynccontextmanager
async def sse_process(base: str) -> AsyncIterator[list[int]]:
    """`follow` in a process of its own, as a browser is: one line out per refresh."""
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "scenarios.bench.ui", "--follow", base,
        stdout=subprocess.PIPE, env=env)
    refreshes = [0]
    try:
        yield refreshes
    finally:
        child.terminate()
        out, _ = await child.communicate()
        refreshes[0] = out.count(b"\n")


Setting = Callable[[str], contextlib.AbstractAsyncContextManager[list[int]]]


@contextlib.asynccontextmanager
async def no_page(base: str) -> AsyncIterator[list[int]]:
    yield [0]


@dataclass(frozen=True)
class Burst:
    per_s: float
    cpu_ms_per_1000: float
    slowdown: float
    """Median over rounds of 1 - this rate / the no-page rate of the same round."""
    extra_cpu: float
    """Median over rounds of this CPU per message / the no-page one of the same round - 1."""
    refreshes: int
    generator_cpu: float
    """The most of one core wrk used in any of this setting's bursts."""


async def publishing(base: str, pid: int, total: int, concurrency: int, rounds: int,
                     settings: dict[str, Setting]) -> dict[str, Burst]:
    """The settings take turns in each round (the first is the baseline), so each is compared
    with a baseline measured seconds apart, under the same background load."""
    rates: dict[str, list[float]] = {name: [] for name in settings}
    cpu: dict[str, list[float]] = {name: [] for name in settings}
    refreshes: dict[str, int] = dict.fromkeys(settings, 0)
    generator: dict[str, float] = dict.fromkeys(settings, 0.0)
    await burst(base, total, concurrency)  # warm-up, not counted
    async with aiohttp.ClientSession() as session:
        for _ in range(rounds):
            for name, setting in settings.items():
                async with session.post(f"{base}/__emulator__/reset?all=true",
                                        headers=ADMIN) as response:
                    assert response.status == 200
                async with setting(base) as seen:
                    await asyncio.sleep(SETTLE_S)
                    before = cpu_seconds(pid)
                    run = await burst(base, total, concurrency)
                    rates[name].append(run.rate)
                    generator[name] = max(generator[name], run.generator_cpu)
                    cpu[name].append((cpu_seconds(pid) - before) * 1000 * 1000 / total)
                    await asyncio.sleep(1.0)  # let the page catch up with the last change
                refreshes[name] += seen[0]
    baseline = next(iter(settings))
    return {name: Burst(
        statistics.median(rates[name]), statistics.median(cpu[name]),
        statistics.median(1 - r / b for r, b in zip(rates[name], rates[baseline], strict=True)),
        statistics.median(c / b - 1 for c, b in zip(cpu[name], cpu[baseline], strict=True)),
        refreshes[name], generator[name]) for name in settings}


async def refresh_cpu_ms(base: str, pid: int, requests: int) -> float:
    """The emulator's CPU time for one live refresh (the messages page, full of the burst's
    messages, and one look at the counters), measured over `requests` of them in a row."""
    async with aiohttp.ClientSession() as session:
        before = cpu_seconds(pid)
        for _ in range(requests):
            await _timed(session, f"{base}{UI}/messages")
        return (cpu_seconds(pid) - before) * 1000 / requests


async def fill(base: str, stored: int, concurrency: int) -> None:
    """Store `stored` pending messages through `/v2/batch`, 100 per request."""
    item = {"destination": TARGET, "body": "x", "headers": {"Upstash-Delay": "1d"}}
    batches = iter(range(0, stored, 100))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

        async def worker() -> None:
            for start in batches:
                body = json.dumps([item] * min(100, stored - start))
                async with http.post(f"{base}/v2/batch", data=body,
                                     headers={"Authorization": f"Bearer {TOKEN}"}) as response:
                    await response.read()
                    assert response.status == 200, response.status

        await asyncio.gather(*(worker() for _ in range(concurrency)))


async def render_times(base: str, requests: int) -> dict[str, tuple[float, float]]:
    """Median and 95th percentile (ms) of rendering each page."""
    async with aiohttp.ClientSession() as session:
        times: dict[str, tuple[float, float]] = {}
        for path in PAGES:
            url = f"{base}{UI}{path}"
            spent = [await _timed(session, url) for _ in range(requests)]
            spent.sort()
            times[path] = (statistics.median(spent), spent[int(0.95 * (len(spent) - 1))])
        return times


async def _timed(session: aiohttp.ClientSession, url: str) -> float:
    """Milliseconds until the whole page has arrived."""
    start = time.perf_counter()
    async with session.get(url) as response:
        await response.read()
        assert response.status == 200, (url, response.status)
    return (time.perf_counter() - start) * 1000


async def run(args: argparse.Namespace, store_args: list[str]) -> None:
    settings: dict[str, Setting] = {"no page": no_page, "SSE client": sse_client,
                                    "SSE process": sse_process}
    if not args.no_browser:
        settings["Chromium page"] = browser_page
    with emulator(store_args) as (base, pid):
        async with aiohttp.ClientSession() as session:
            await wait_up(session, base)
        figures = await publishing(base, pid, args.messages, args.concurrency, args.rounds,
                                   settings)
        print(f"burst of {args.messages} messages, {args.concurrency} connections, "
              f"median of {args.rounds} rounds")
        for name, row in figures.items():
            print(f"  {name:14} {row.per_s:8.0f} publish/s (slower by {row.slowdown:+6.1%})"
                  f"  {row.cpu_ms_per_1000:5.0f} CPU ms per 1,000 ({row.extra_cpu:+6.1%})"
                  f"  {row.refreshes} page refreshes  (wrk: {row.generator_cpu:.0%} of a core)")
        per_refresh_ms = await refresh_cpu_ms(base, pid, args.requests * 10)
        alone = figures["no page"]
        share = per_refresh_ms / (alone.cpu_ms_per_1000 * alone.per_s / 1000) / REFRESH_EVERY_S
        print(f"  one refresh of the messages page: {per_refresh_ms:.1f} CPU ms in the emulator; "
              f"at one a second, {share:.1%} of the CPU the burst takes")
        async with aiohttp.ClientSession() as session, \
                session.post(f"{base}/__emulator__/reset?all=true", headers=ADMIN):
            pass
        await fill(base, args.stored, args.concurrency)
        print(f"rendering with {args.stored} messages stored ({args.requests} requests each)")
        for path, (median, p95) in (await render_times(base, args.requests)).items():
            print(f"  {path:22} median {median:7.1f} ms  p95 {p95:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--store", choices=["memory", "redis"], default="memory")
    parser.add_argument("--redis-url", help="with --store redis; default: a private redis-server")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium setting")
    parser.add_argument("--follow", metavar="URL", help=argparse.SUPPRESS)  # sse_process's child
    args = parser.parse_args()
    if args.follow:
        asyncio.run(follow(args.follow, lambda: print(flush=True)))
        return
    if args.store == "memory":
        asyncio.run(run(args, []))
        return
    with redis_server(args.redis_url) as url:
        prefix = f"bench-ui-{uuid.uuid4().hex[:10]}"
        try:
            asyncio.run(run(args, ["--store", url, "--store-prefix", prefix]))
        finally:
            delete_prefix(url, prefix)


if __name__ == "__main__":
    main()
