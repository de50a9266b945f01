"""In-process benchmark of the due path: ungated messages vs queues vs flow-control keys.

Publishes N messages into an emulator on a virtual clock whose dispatcher answers 200 at once,
then drains; prints messages/s for each case. Asserts nothing. Run on demand:

    python -m scenarios.bench.gates --messages 20000
"""

from __future__ import annotations

import argparse
import asyncio
import time

from qstash_emulator import Emulator, Settings, VirtualClock
from qstash_emulator.core.messages.publish import PublishRequest
from qstash_emulator.core.model import DeliveryRequest, Response
from qstash_emulator.storage.memory import MemoryStore

TENANT = "bench"
CASES: dict[str, tuple[dict[str, str], str | None]] = {
    "ungated": ({}, None),
    "queue (parallelism 100)": ({}, "q"),
    "flow key (parallelism 100)": (
        {"upstash-flow-control-key": "k", "upstash-flow-control-value": "parallelism=100"}, None),
}


class InstantDispatcher:
    async def dispatch(self, request: DeliveryRequest) -> Response:
        return Response(200)

    async def aclose(self) -> None:
        return None


async def run(case: str, messages: int) -> float:
    headers, queue = CASES[case]
    emulator = Emulator(Settings(clock="virtual", tokens=(TENANT,)), clock=VirtualClock(),
                        store=MemoryStore(), dispatcher=InstantDispatcher())
    if queue is not None:
        from qstash_emulator.core.gating.queues import QueueUpsert

        emulator.service.upsert_queue(TENANT, QueueUpsert(queue, 100, False))
    await emulator.start()
    started = time.perf_counter()
    for n in range(messages):
        request = PublishRequest("http://127.0.0.1:9/x", headers, b"%d" % n, queue)
        emulator.service.publish(TENANT, request, None)
    await emulator.drain()
    elapsed = time.perf_counter() - started
    delivered = sum(1 for _ in emulator.service.deliveries(TENANT))
    await emulator.stop()
    assert delivered == messages, (case, delivered)
    return messages / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20_000)
    args = parser.parse_args()
    for case in CASES:
        rate = asyncio.run(run(case, args.messages))
        print(f"{case:28} {rate:10,.0f} messages/s published and delivered")


if __name__ == "__main__":
    main()
