"""Fair delivery over real loopback HTTP: a hanging destination holds only its own slots.

The hanging destination never answers until the test lets it; the fast destination's messages
must all be delivered meanwhile, with the hanging one holding exactly its per-destination limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from qstash_emulator import Emulator, Settings, VirtualClock
from qstash_emulator.core.messages.publish import PublishRequest
from qstash_emulator.delivery.fairness import DestinationSlots, destination_of
from qstash_emulator.storage.memory import MemoryStore

TENANT = "fair"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


async def read_request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    await reader.readexactly(length)


def publish(emulator: Emulator, url: str) -> None:
    emulator.service.publish(TENANT, PublishRequest(url, {"upstash-retries": "0"}, b"x"), None)


@pytest.mark.anyio
async def test_a_hanging_destination_holds_only_its_own_slots() -> None:
    release = asyncio.Event()
    hanging_seen = 0
    fast_seen = 0
    all_fast = asyncio.Event()

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal hanging_seen
        await read_request(reader)
        hanging_seen += 1
        await release.wait()
        writer.write(OK)
        await writer.drain()
        writer.close()

    async def fast(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal fast_seen
        while not reader.at_eof():
            try:
                await read_request(reader)
            except asyncio.IncompleteReadError:
                break
            fast_seen += 1
            writer.write(OK)
            await writer.drain()
            if fast_seen == 40:
                all_fast.set()
        writer.close()

    settings = Settings(clock="virtual", tokens=(TENANT,), concurrency=4, destination_concurrency=2)
    emulator = Emulator(settings, clock=VirtualClock(start=1_700_000_000), store=MemoryStore())
    async with serving(hang) as slow_url, serving(fast) as fast_url:
        await emulator.start()
        for _ in range(20):  # due first: without a per-destination limit they take every slot
            publish(emulator, f"{slow_url}/hang")
        for _ in range(40):
            publish(emulator, f"{fast_url}/fast")
        await asyncio.wait_for(all_fast.wait(), timeout=30)
        assert fast_seen == 40
        assert hanging_seen == 2
        assert emulator.scheduler.slots.in_flight(slow_url) == 2
        assert emulator.scheduler.slots.waiting == 18
        release.set()
        await emulator.drain()
        assert hanging_seen == 20
        assert emulator.scheduler.slots.waiting == 0
        await emulator.stop()


def test_destinations_are_scheme_host_and_port() -> None:
    assert destination_of("https://Example.com/a?b") == "https://example.com:443"
    assert destination_of("http://example.com:8080/x") == "http://example.com:8080"
    assert destination_of("http://example.com/x") == destination_of("http://example.com:80/y")
    assert destination_of("http://example.com/x") != destination_of("https://example.com/x")


def test_waiting_messages_start_in_order_as_slots_free() -> None:
    from qstash_emulator.core.model import Message

    slots = DestinationSlots(limit=1)

    def message(number: int, host: str) -> Message:
        return Message(
            message_id=f"m{number}",
            tenant="t",
            url=f"http://{host}/p",
            body=b"",
            created_at_ms=0,
            not_before_ms=0,
        )

    first = [message(1, "a"), message(2, "a"), message(3, "b"), message(4, "a")]
    assert [m.message_id for m in slots.admit(first)] == ["m1", "m3"]
    assert slots.ready_waiting() == []
    slots.give("http://a/p")
    assert [m.message_id for m in slots.ready_waiting()] == ["m2"]
    slots.give("http://a/p")
    assert [m.message_id for m in slots.ready_waiting()] == ["m4"]
    assert slots.waiting == 0
