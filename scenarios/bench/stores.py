"""Memory store vs Redis store: publishes/s and deliveries/s side by side, in one run.

For each store, starts the emulator (`python -m qstash_emulator`) and a counting destination as
separate processes on loopback, and measures from 64 concurrent aiohttp connections:

- publish/s: N publishes with a 10 s delay on a virtual clock, so nothing is delivered meanwhile
  and the figure is the cost of accepting and storing a message;
- deliveries/s: then one `clock/advance` of 10 s, which returns once all N were delivered;
- end-to-end/s: on a real clock, N publishes and their deliveries competing for one process,
  until the destination has seen them all.

Prints figures; asserts nothing. Without --redis-url a private redis-server is started.

    python -m scenarios.bench.stores --messages 20000
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from dataclasses import dataclass

import aiohttp

from qstash_emulator.control import AsyncEmulatorControl
from qstash_emulator.core.tenants import DEFAULT_TOKEN

from .processes import (
    delete_prefix,
    free_port,
    redis_server,
    start_destination,
    start_emulator,
    stop,
    wait_up,
)

CONTROL_TIMEOUT_S = 3600.0


@dataclass(frozen=True)
class Figures:
    store: str
    publish_per_s: float
    deliveries_per_s: float
    end_to_end_per_s: float


async def publish_all(base: str, target: str, total: int, concurrency: int,
                      delay: str | None = None) -> float:
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}", "Content-Type": "application/json"}
    if delay:
        headers["Upstash-Delay"] = delay
    counter = iter(range(total))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for i in counter:
                async with session.post(f"{base}/v2/publish/{target}", headers=headers,
                                        data=f'{{"i": {i}}}') as response:
                    await response.read()
                    assert response.status == 200, response.status

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start


async def delivered(session: aiohttp.ClientSession, count_url: str) -> int:
    async with session.get(count_url) as response:
        return int(await response.text())


async def separately(store_args: list[str], total: int, concurrency: int) -> tuple[float, float]:
    """(publish/s, deliveries/s) measured apart on a virtual clock."""
    emulator_port, destination_port = free_port(), free_port()
    processes = [start_emulator(emulator_port, "--clock", "virtual", *store_args),
                 start_destination(destination_port)]
    base = f"http://127.0.0.1:{emulator_port}"
    count_url = f"http://127.0.0.1:{destination_port}/count"
    try:
        async with aiohttp.ClientSession() as session:
            await wait_up(session, f"{base}/__emulator__/health")
            await wait_up(session, count_url)
            publish_s = await publish_all(base, f"http://127.0.0.1:{destination_port}/hook",
                                          total, concurrency, delay="10s")
            async with AsyncEmulatorControl(base, DEFAULT_TOKEN, CONTROL_TIMEOUT_S) as control:
                start = time.perf_counter()
                await control.advance(10)
                deliver_s = time.perf_counter() - start
            assert await delivered(session, count_url) == total
    finally:
        for process in processes:
            stop(process)
    return total / publish_s, total / deliver_s


async def together(store_args: list[str], total: int, concurrency: int) -> float:
    """End-to-end deliveries/s on a real clock, publishing and delivering at once."""
    emulator_port, destination_port = free_port(), free_port()
    processes = [start_emulator(emulator_port, *store_args), start_destination(destination_port)]
    base = f"http://127.0.0.1:{emulator_port}"
    count_url = f"http://127.0.0.1:{destination_port}/count"
    try:
        async with aiohttp.ClientSession() as session:
            await wait_up(session, f"{base}/__emulator__/health")
            await wait_up(session, count_url)
            start = time.perf_counter()
            await publish_all(base, f"http://127.0.0.1:{destination_port}/hook", total,
                              concurrency)
            while await delivered(session, count_url) < total:
                await asyncio.sleep(0.02)
            return total / (time.perf_counter() - start)
    finally:
        for process in processes:
            stop(process)


async def run(total: int, concurrency: int, redis_url: str) -> list[Figures]:
    prefixes = [f"bench-{uuid.uuid4().hex[:10]}" for _ in range(2)]
    stores = {"memory": ([], []),
              "redis": tuple(["--store", redis_url, "--store-prefix", p] for p in prefixes)}
    figures = []
    try:
        for name, (first, second) in stores.items():
            publish, deliveries = await separately(first, total, concurrency)
            figures.append(Figures(name, publish, deliveries,
                                   await together(second, total, concurrency)))
    finally:
        for prefix in prefixes:
            delete_prefix(redis_url, prefix)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--redis-url", help="default: a private redis-server on a free port")
    args = parser.parse_args()
    with redis_server(args.redis_url) as url:
        figures = asyncio.run(run(args.messages, args.concurrency, url))
    print(f"messages {args.messages}, {args.concurrency} publishing connections")
    print(f"{'store':8} {'publish/s':>10} {'deliveries/s':>13} {'end-to-end/s':>13}")
    for row in figures:
        print(f"{row.store:8} {row.publish_per_s:10.0f} {row.deliveries_per_s:13.0f} "
              f"{row.end_to_end_per_s:13.0f}")
    memory, redis_row = figures
    print(f"redis / memory publish: {redis_row.publish_per_s / memory.publish_per_s:.0%}")


if __name__ == "__main__":
    main()
