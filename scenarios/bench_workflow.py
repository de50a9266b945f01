"""Overhead of the emulator per workflow step: a FastAPI app on the official `upstash-workflow`
SDK runs N `context.run` steps through an emulator (its own process, virtual clock); the
overhead per step is the run's wall time minus the app's own time, per delivery. The app's own
time is its handlers' time less the time its SDK waited on the emulator's API (publishes, the
final DELETE), which is the emulator's (and the app's TCP stack's). Deliveries overlap the end of
the handler before them, so the parts do not add up. Also: the wall time of a 7-day sleep.

Prints the figures (`--json`: one JSON line). Asserts nothing. Run on demand:

    python scenarios/bench_workflow.py --steps 20 --runs 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from qstash import AsyncQStash
from support import TOKEN, free_port, start_emulator, stop
from upstash_workflow import AsyncWorkflowContext
from upstash_workflow.fastapi import Serve

from pytest_qstash.serving import ServerThread

WEEK_S = 7 * 86400


@dataclass
class Clocks:
    """Where the app's time went: its handlers, and within them its SDK's calls to QStash."""

    handler_s: float = 0.0
    sdk_s: float = 0.0
    requests: int = 0
    last_end: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, handler_s: float, ended: float) -> None:
        with self.lock:
            self.handler_s += handler_s
            self.requests += 1
            self.last_end = max(self.last_end, ended)


@dataclass
class Figures:
    steps: int
    runs: int
    wall_ms_per_run: float
    app_ms_per_run: float
    deliveries_per_run: int
    overhead_ms_per_step: float
    api_ms_per_step: float
    week_sleep_wall_ms: float


def timed_sdk(client: AsyncQStash, clocks: Clocks) -> AsyncQStash:
    """The client, with the time of each of its API calls added to `clocks.sdk_s`."""
    request: Callable[..., Awaitable[Any]] = client.http.request

    async def measured(**kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await request(**kwargs)
        finally:
            clocks.sdk_s += time.perf_counter() - started

    client.http.request = measured  # type: ignore[method-assign]
    return client


def build_app(client: AsyncQStash, clocks: Clocks, steps: int) -> FastAPI:
    app = FastAPI()
    serve = Serve(app)

    @app.middleware("http")
    async def clock(request: Any, call_next: Any) -> Any:
        started = time.perf_counter()
        response = await call_next(request)
        ended = time.perf_counter()
        clocks.add(ended - started, ended)
        return response

    @serve.post("/steps", qstash_client=client)
    async def many(context: AsyncWorkflowContext[int]) -> None:
        for n in range(steps):
            async def step(n: int = n) -> int:
                return n

            await context.run(f"step-{n}", step)

    @serve.post("/sleeper", qstash_client=client)
    async def sleeper(context: AsyncWorkflowContext[int]) -> None:
        async def before() -> str:
            return "before"

        await context.run("before", before)
        await context.sleep("a-week", "7d")

        async def after() -> str:
            return "after"

        await context.run("after", after)

    return app


@dataclass(frozen=True)
class Sample:
    """One run, from its trigger to its last handler: wall time, the app's own time, the time
    its SDK waited on the emulator's API, and how many requests the app answered."""

    wall_s: float
    own_s: float
    api_s: float
    requests: int


def one_run(http: httpx.Client, url: str, clocks: Clocks) -> Sample:
    handler, api, requests = clocks.handler_s, clocks.sdk_s, clocks.requests
    started = time.perf_counter()
    http.post(f"/v2/publish/{url}", content=b"0").raise_for_status()
    http.post("/__emulator__/clock/advance", json={"seconds": 0}).raise_for_status()
    api_s = clocks.sdk_s - api
    return Sample(clocks.last_end - started, clocks.handler_s - handler - api_s, api_s,
                  clocks.requests - requests)


def week_sleep(http: httpx.Client, url: str) -> float:
    http.post(f"/v2/publish/{url}", content=b"0").raise_for_status()
    http.post("/__emulator__/clock/advance", json={"seconds": 0}).raise_for_status()
    started = time.perf_counter()
    http.post("/__emulator__/clock/advance", json={"seconds": WEEK_S}).raise_for_status()
    return time.perf_counter() - started


def measure(base: str, app_url: str, clocks: Clocks, steps: int, runs: int) -> Figures:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"},
                      timeout=300) as http:
        one_run(http, f"{app_url}/steps", clocks)  # warm up
        samples = [one_run(http, f"{app_url}/steps", clocks) for _ in range(runs)]
        sleep_s = week_sleep(http, f"{app_url}/sleeper")
    wall = statistics.median(s.wall_s for s in samples)
    own = statistics.median(s.own_s for s in samples)
    api = statistics.median(s.api_s for s in samples)
    deliveries = samples[0].requests - 1  # the trigger's own delivery starts the run
    per_step = 1000 / deliveries
    return Figures(steps, runs, wall * 1000, own * 1000, deliveries, (wall - own) * per_step,
                   api * per_step, sleep_s * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()
    port = free_port()
    emulator = start_emulator(port, "--clock", "virtual", "--any-token")
    base = f"http://127.0.0.1:{port}"
    clocks = Clocks()
    client = timed_sdk(AsyncQStash(TOKEN, base_url=base, retry=False), clocks)
    app = ServerThread(build_app(client, clocks, args.steps), lifespan="off").start()
    try:
        wait_up(base)
        figures = measure(base, app.url, clocks, args.steps, args.runs)
    finally:
        app.stop()
        stop(emulator)
    report(figures, args.json)


def wait_up(base: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            httpx.get(f"{base}/__emulator__/health").raise_for_status()
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def report(figures: Figures, as_json: bool) -> None:
    if as_json:
        print(json.dumps(asdict(figures)))
        return
    print(f"run of {figures.steps} steps ({figures.deliveries_per_run} deliveries): "
          f"{figures.wall_ms_per_run:.1f} ms wall, {figures.app_ms_per_run:.1f} ms in the app")
    print(f"overhead per step: {figures.overhead_ms_per_step:.2f} ms (the SDK's calls to the "
          f"emulator's API take {figures.api_ms_per_step:.2f} ms of it per step; the next "
          f"delivery overlaps the end of the handler)")
    print(f"a 7-day sleep: {figures.week_sleep_wall_ms:.1f} ms of wall time")


if __name__ == "__main__":
    main()
