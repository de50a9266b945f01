"""Crash test of the Redis store: SIGKILL the emulator mid-burst, restart it, count deliveries.

Publishes N messages at full speed (64 connections) to an emulator on Redis, `kill -9`s it once a
random number of publishes has been acknowledged, starts a new emulator on the same Redis and
prefix, publishes the rest, then waits until the destination's own log (one message id per
received POST) holds every acknowledged id. Prints the figures; exit status 1 if any
acknowledged message was never delivered. Without --redis-url a private redis-server is used.

    python -m scenarios.bench.crash_redis --messages 10000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field

import aiohttp

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


@dataclass
class Burst:
    total: int
    kill_after: int
    acknowledged: set[str] = field(default_factory=set)
    next_index: int = 0
    failed: int = 0


@dataclass
class Report:
    messages: int
    killed_after_acks: int
    acknowledged: int
    unacknowledged_attempts: int
    delivered_ids: int
    missing: int
    duplicates: int
    duplicate_deliveries: int
    delivered_unacknowledged: int
    recovery_s: float


async def publish(base: str, target: str, burst: Burst, limit: int, on_ack: object = None,
                  concurrency: int = 64) -> None:
    """Publish until `limit` messages were tried; stops a worker at its first failure."""
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while burst.next_index < limit:
                index, burst.next_index = burst.next_index, burst.next_index + 1
                try:
                    async with session.post(f"{base}/v2/publish/{target}", headers=headers,
                                            data=json.dumps({"i": index})) as response:
                        payload = await response.json()
                        assert response.status == 200, payload
                except (TimeoutError, aiohttp.ClientError):
                    burst.failed += 1
                    return
                burst.acknowledged.add(payload["messageId"])
                if callable(on_ack):
                    on_ack()

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def read_log(path: str) -> Counter[str]:
    with open(path) as log:
        return Counter(line.strip() for line in log if line.strip())


async def wait_delivered(path: str, wanted: set[str], timeout_s: float) -> Counter[str]:
    deadline = time.monotonic() + timeout_s
    while True:
        seen = read_log(path)
        if wanted <= seen.keys() or time.monotonic() > deadline:
            return seen
        await asyncio.sleep(0.1)


async def run(total: int, redis_url: str, seed: int | None, timeout_s: float) -> Report:
    rng = random.Random(seed)
    burst = Burst(total, kill_after=rng.randint(total // 10, total * 9 // 10))
    prefix = f"crash-{uuid.uuid4().hex[:10]}"
    store_args = ("--store", redis_url, "--store-prefix", prefix)
    dest_port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        log_path = os.path.join(workdir, "received.log")
        open(log_path, "w").close()
        destination = start_destination(dest_port, log_path)
        first_port, second_port = free_port(), free_port()
        first = start_emulator(first_port, *store_args)
        second = None
        try:
            async with aiohttp.ClientSession() as session:
                await wait_up(session, f"http://127.0.0.1:{dest_port}/count")
                await wait_up(session, f"http://127.0.0.1:{first_port}/__emulator__/health")

            def maybe_kill() -> None:
                if len(burst.acknowledged) >= burst.kill_after and first.poll() is None:
                    os.kill(first.pid, signal.SIGKILL)

            target = f"http://127.0.0.1:{dest_port}/hook"
            await publish(f"http://127.0.0.1:{first_port}", target, burst, total, maybe_kill)
            first.wait(10)
            killed_after = len(burst.acknowledged)
            restarted_at = time.monotonic()
            second = start_emulator(second_port, *store_args)
            async with aiohttp.ClientSession() as session:
                await wait_up(session, f"http://127.0.0.1:{second_port}/__emulator__/health")
            await publish(f"http://127.0.0.1:{second_port}", target, burst, total)
            seen = await wait_delivered(log_path, burst.acknowledged, timeout_s)
            recovery_s = time.monotonic() - restarted_at
        finally:
            for process in (first, second, destination):
                if process is not None:
                    stop(process)
            delete_prefix(redis_url, prefix)
    duplicates = {i: n for i, n in seen.items() if n > 1}
    return Report(
        messages=total,
        killed_after_acks=killed_after,
        acknowledged=len(burst.acknowledged),
        unacknowledged_attempts=burst.failed,
        delivered_ids=len(seen),
        missing=len(burst.acknowledged - seen.keys()),
        duplicates=len(duplicates),
        duplicate_deliveries=sum(duplicates.values()) - len(duplicates),
        delivered_unacknowledged=len(seen.keys() - burst.acknowledged),
        recovery_s=round(recovery_s, 2),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--redis-url", help="default: a private redis-server on a free port")
    parser.add_argument("--seed", type=int, help="seed of the random kill point")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for delivery")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    with redis_server(args.redis_url) as url:
        report = asyncio.run(run(args.messages, url, args.seed, args.timeout))
    if args.json:
        print(json.dumps(asdict(report)))
    else:
        for name, value in asdict(report).items():
            print(f"{name.replace('_', ' '):28} {value}")
    raise SystemExit(1 if report.missing else 0)


if __name__ == "__main__":
    main()
