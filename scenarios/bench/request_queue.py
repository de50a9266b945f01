"""Rough `qstash_queue` benchmark: enqueues/s through QStash (the emulator) and memory deliveries/s.

Runs an emulator (real clock) and a counting Starlette destination in background threads of this
process, then measures (1) `RequestQueue.enqueue` through the official SDK, one thread, (2) the
memory backend end to end (enqueue until drained) at two concurrencies, (3) the asyncio twin's
memory path. Prints figures; asserts nothing. Run on demand:

    python -m scenarios.bench.request_queue --jobs 2000
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pytest_qstash.server import EmulatorServer
from pytest_qstash.serving import ServerThread
from qstash_emulator.core.tenants import DEFAULT_TOKEN
from qstash_queue import AsyncRequestQueue, MemoryOptions, RequestQueue

received = 0


async def count(request: Request) -> Response:
    global received
    await request.body()
    received += 1
    return Response(b"ok")


def timed(label: str, jobs: int, work: Callable[[], None]) -> None:
    """Time `work`, then wait (untimed) until the destination saw every job of it."""
    target = received + jobs
    started = time.perf_counter()
    work()
    elapsed = time.perf_counter() - started
    print(f"{label:<48} {jobs / elapsed:>9.0f} jobs/s  ({jobs} in {elapsed:.2f} s)")
    while received < target:
        time.sleep(0.01)


def through_qstash(url: str, endpoint: str, jobs: int) -> None:
    with RequestQueue(qstash_token=DEFAULT_TOKEN, base_url=url) as queue:
        for n in range(jobs):
            queue.enqueue(f"k{n}", endpoint=endpoint, payload={"n": n})


def memory(endpoint: str, jobs: int, concurrency: int) -> None:
    options = MemoryOptions(concurrency=concurrency, max_pending=jobs)
    with RequestQueue(use_qstash=False, memory=options) as queue:
        for n in range(jobs):
            queue.enqueue(f"k{n}", endpoint=endpoint, payload={"n": n})
        queue.drain()


def async_memory(endpoint: str, jobs: int) -> None:
    async def run() -> None:
        options = MemoryOptions(concurrency=16, max_pending=jobs)
        async with AsyncRequestQueue(use_qstash=False, memory=options) as queue:
            for n in range(jobs):
                await queue.enqueue(f"k{n}", endpoint=endpoint, payload={"n": n})
            await queue.drain()

    asyncio.run(run())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    jobs = parser.parse_args(argv).jobs
    app = Starlette(routes=[Route("/jobs", count, methods=["POST"])])
    with EmulatorServer(any_token=True) as emulator, ServerThread(app, lifespan="off") as dest:
        endpoint = dest.url + "/jobs"
        timed("enqueue through QStash (emulator, 1 thread)", jobs,
              lambda: through_qstash(emulator.url, endpoint, jobs))
        timed("memory backend end to end, concurrency 4", jobs, lambda: memory(endpoint, jobs, 4))
        timed("memory backend end to end, concurrency 16", jobs,
              lambda: memory(endpoint, jobs, 16))
        timed("async memory backend end to end, concurrency 16", jobs,
              lambda: async_memory(endpoint, jobs))
    print(f"destination received {received} requests")


if __name__ == "__main__":
    main()
