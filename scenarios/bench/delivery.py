"""Benchmark of the delivery side: outbound client cost and idle cost of waiting work.

1. Delivers N requests at 64 concurrent to a counting destination (a separate process) with
   each dispatcher (the emulator's HTTP/1.1 client, aiohttp, httpx) and prints deliveries/s
   and CPU per delivery in this process.
2. Publishes 50,000 delayed messages in-process (virtual clock) and prints the memory they take
   and the cost of one scheduler tick while none is due.

    python -m scenarios.bench.delivery --deliveries 5000
"""

from __future__ import annotations

import argparse
import asyncio
import time
import tracemalloc

from qstash_emulator import Emulator, Settings, VirtualClock
from qstash_emulator.core.messages.publish import PublishRequest
from qstash_emulator.core.model import DeliveryRequest
from qstash_emulator.core.ports import Dispatcher
from qstash_emulator.delivery.dispatchers import AiohttpDispatcher, HttpxDispatcher
from qstash_emulator.delivery.http1 import Http1Dispatcher

from .processes import free_port, start_destination, stop


async def measure(name: str, dispatcher: Dispatcher, url: str, total: int,
                  concurrency: int) -> None:
    request = DeliveryRequest("t", "msg_x", url, "POST", {"Content-Type": "text/plain"}, b"x",
                              30.0, 0, 0)
    await dispatcher.dispatch(request)  # warm the connection pool
    semaphore = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with semaphore:
            response = await dispatcher.dispatch(request)
            assert response.status == 200, response

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(total)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await dispatcher.aclose()
    print(f"{name:8} {total / wall:8.0f} deliveries/s   {cpu / total * 1e6:6.0f} us CPU each")


async def pending_cost(count: int) -> None:
    tracemalloc.start()
    emulator = Emulator(Settings(clock="virtual", tokens=("t",)), clock=VirtualClock())
    before = tracemalloc.get_traced_memory()[0]
    for i in range(count):
        emulator.service.publish(
            "t", PublishRequest("http://127.0.0.1:9/x", {"upstash-delay": "1d"}, b"%d" % i), None
        )
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    await emulator.start()
    ticks = 1000
    start = time.perf_counter()
    for _ in range(ticks):
        emulator.run_due()
    tick_us = (time.perf_counter() - start) / ticks * 1e6
    await emulator.stop()
    print(f"pending  {count} delayed messages: {used / count:6.0f} bytes each "
          f"(incl. logs); scheduler tick with none due: {tick_us:.1f} us")


async def run(total: int, concurrency: int) -> None:
    port = free_port()
    destination = start_destination(port)
    try:
        time.sleep(1.0)
        url = f"http://127.0.0.1:{port}/hook"
        await measure("http1", Http1Dispatcher(), url, total, concurrency)
        await measure("aiohttp", AiohttpDispatcher(), url, total, concurrency)
        await measure("httpx", HttpxDispatcher(), url, total, concurrency)
    finally:
        stop(destination)
    await pending_cost(50_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    asyncio.run(run(args.deliveries, args.concurrency))


if __name__ == "__main__":
    main()
