"""Rough schedule benchmark: cron triggers per second on a virtual clock, in process.

Creates N `* * * * *` schedules, then advances the virtual clock by the given hours; every
trigger publishes a message that is "delivered" by an in-process dispatcher answering 200, so
the figure covers trigger + publish + attempt bookkeeping without network. Prints figures;
asserts nothing. Run on demand:

    python -m scenarios.bench.schedules --schedules 1000 --hours 1
"""

from __future__ import annotations

import argparse
import asyncio
import time

from qstash_emulator import Emulator, Settings, VirtualClock
from qstash_emulator.core.messages.publish import PublishRequest
from qstash_emulator.core.model import DeliveryRequest, Response
from qstash_emulator.storage.memory import MemoryStore


class Ok:
    async def dispatch(self, request: DeliveryRequest) -> Response:
        return Response(200)

    async def aclose(self) -> None:
        return None


async def run(schedules: int, hours: float) -> None:
    emulator = Emulator(Settings(clock="virtual", tokens=("bench",)),
                        clock=VirtualClock(start=1_704_067_200), store=MemoryStore(),
                        dispatcher=Ok())
    await emulator.start()
    started = time.perf_counter()
    for n in range(schedules):
        request = PublishRequest(f"http://127.0.0.1:9/{n}", {"upstash-cron": "* * * * *"}, b"x")
        emulator.service.create_schedule("bench", request, None)
    created = time.perf_counter() - started
    started = time.perf_counter()
    await emulator.advance(hours * 3600)
    elapsed = time.perf_counter() - started
    await emulator.stop()
    triggers = schedules * round(hours * 60)
    delivered = len(emulator.service.deliveries("bench"))
    print(f"created {schedules} schedules in {created:.2f}s ({schedules / created:,.0f}/s)")
    print(f"{triggers} triggers over {hours:g} simulated h in {elapsed:.2f}s "
          f"({triggers / elapsed:,.0f} triggers+deliveries/s); delivery log holds {delivered}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=1000)
    parser.add_argument("--hours", type=float, default=1.0)
    args = parser.parse_args()
    asyncio.run(run(args.schedules, args.hours))


if __name__ == "__main__":
    main()
