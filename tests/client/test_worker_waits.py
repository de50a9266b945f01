"""The fallback workers' waits: a worker loop stops when cancelled, even when the event it waits
for is set in the same turn (Python 3.11's `asyncio.wait_for` loses that cancellation, and
`RequestQueue.close` then waited for the loop forever)."""

from __future__ import annotations

import asyncio

import pytest

from qstash_queue.clock import wait_set


async def _loop(wake: asyncio.Event, turns: list[int]) -> None:
    """A worker loop of the fallback queues' shape: wait to be woken (or time out), work, again."""
    while True:
        wake.clear()
        await wait_set(wake, 60.0)
        turns.append(1)


async def _cancelled_as_woken() -> bool:
    wake, turns = asyncio.Event(), []
    task = asyncio.create_task(_loop(wake, turns))
    await asyncio.sleep(0)  # the loop now waits
    wake.set()
    await asyncio.sleep(0)  # the wait has its answer; the loop has not run on yet
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)
    return task in done and task.cancelled()


def test_a_cancel_in_the_same_turn_as_the_wake_up_stops_the_loop() -> None:
    assert all(asyncio.run(_cancelled_as_woken()) for _ in range(20))


@pytest.mark.parametrize(("set_first", "answer"), [(True, True), (False, False)])
def test_wait_set_answers_whether_the_event_came(set_first: bool, answer: bool) -> None:
    async def wait() -> bool:
        event = asyncio.Event()
        if set_first:
            event.set()
        return await wait_set(event, 0)  # a set event answers before any timeout

    assert asyncio.run(wait()) is answer
