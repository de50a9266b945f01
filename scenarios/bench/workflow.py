"""Overhead of the emulator per workflow step: a FastAPI app on the official `upstash-workflow`
SDK runs N `context.run` steps through an emulator (its own process, virtual clock); the
overhead per step is the run's wall time minus the app's own time, per delivery. The app's own
time is its handlers' time less the time its SDK waited on the emulator's API (publishes, the
final DELETE), which is the emulator's (and the app's TCP stack's). Deliveries overlap the end of
the handler before them, so the parts do not add up. Also: the wall time of a 7-day sleep, and
the emulator's own time per step in process (publish, deliver to a function) next to a plain
message's, which no network or app time blurs.

Prints the figures (`--json`: one JSON line). Asserts nothing. Run on demand:

    python -m scenarios.bench.workflow --steps 20 --runs 5
"""

from __future__ import annotations

import argparse
import asyncio
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
from upstash_workflow import AsyncWorkflowContext
from upstash_workflow.fastapi import Serve

from pytest_qstash.serving import ServerThread
from qstash_emulator import Emulator, Settings, VirtualClock
from qstash_emulator.core.messages.publish import PublishRequest
from qstash_emulator.core.model import Response
from qstash_emulator.core.tenants import DEFAULT_TOKEN as TOKEN
from qstash_emulator.delivery.dispatchers import FunctionDispatcher
from qstash_emulator.storage.memory import MemoryStore
from scenarios.bench.processes import free_port, start_emulator, stop

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
    core_ms_per_step: float = 0.0
    core_ms_per_plain_message: float = 0.0


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

    async def many(context: AsyncWorkflowContext[int]) -> None:
        for n in range(steps):
            async def step(n: int = n) -> int:
                return n

            await context.run(f"step-{n}", step)

    async def sleeper(context: AsyncWorkflowContext[int]) -> None:
        async def before() -> str:
            return "before"

        await context.run("before", before)
        await context.sleep("a-week", "7d")

        async def after() -> str:
            return "after"

        await context.run("after", after)

    serve.post("/steps", qstash_client=client)(many)
    serve.post("/sleeper", qstash_client=client)(sleeper)
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


async def core_times(steps: int, rounds: int = 20) -> tuple[float, float]:
    """(ms per workflow step, ms per plain message): publish one, deliver it, in process."""
    emulator = Emulator(Settings(clock="virtual", tokens=("t",)), clock=VirtualClock(),
                        store=MemoryStore(), dispatcher=FunctionDispatcher(lambda r: Response(200)))
    await emulator.start()
    workflow = {"upstash-workflow-runid": "", "upstash-workflow-url": "http://app/wf",
                "upstash-forward-upstash-workflow-sdk-version": "1"}
    step_s = plain_s = 0.0
    for run in range(rounds):
        headers = {**workflow, "upstash-workflow-runid": f"wfr_{run}"}
        await deliver(emulator, {**headers, "upstash-workflow-init": "true"}, b"0")
        for n in range(steps):
            body = json.dumps({"stepId": n + 1, "stepName": f"s{n}", "out": "1"}).encode()
            step_s += await deliver(emulator, headers, body)
            plain_s += await deliver(emulator, {}, b"0", "http://app/plain")
    await emulator.stop()
    return step_s * 1000 / (rounds * steps), plain_s * 1000 / (rounds * steps)


async def deliver(emulator: Emulator, headers: dict[str, str], body: bytes,
                  url: str = "http://app/wf") -> float:
    started = time.perf_counter()
    emulator.service.publish("t", PublishRequest(url, headers, body), None)
    await emulator.drain()
    return time.perf_counter() - started


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
    figures.core_ms_per_step, figures.core_ms_per_plain_message = asyncio.run(
        core_times(args.steps))
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
    print(f"in process: {figures.core_ms_per_step:.2f} ms per step, "
          f"{figures.core_ms_per_plain_message:.2f} ms per plain message")


if __name__ == "__main__":
    main()
