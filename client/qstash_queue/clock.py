"""Time for the queue: an injectable time function, and waiting on it.

A queue's clock is any function returning seconds since the epoch (`time.time` by default).
The fallback's probe interval, the fallback queues' delays and retry backoff and the usage
monitor's UTC day all read it, so a test can hand in the emulator's virtual clock
(`pytest_qstash`'s `qstash_clock.time`) and move all of them with one `advance`.

Waiting on a clock that is not the process's own cannot be woken by it, so waits recheck it
every `POLL_NAP_S` of real time; on the system clock they sleep until the due time (rechecking
at least every `SYSTEM_NAP_S`, in case the wall clock is set).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

Clock = Callable[[], float]

SYSTEM_NAP_S = 1.0
POLL_NAP_S = 0.02


def system_clock() -> float:
    """Seconds since the epoch, from the process's wall clock."""
    return time.time()


def wall_ms() -> int:
    """Milliseconds since the epoch (stores and limiters stamp their records with it)."""
    return int(time.time() * 1000)


def monotonic() -> float:
    """Seconds on the process's monotonic clock (real-time timeouts, never emulated time)."""
    return time.monotonic()


def is_system(clock: Clock) -> bool:
    return clock is system_clock or clock is time.time


def nap_s(clock: Clock, left_s: float) -> float:
    """How long to sleep before looking at `clock` again, `left_s` before a due time."""
    if left_s <= 0:
        return 0.0
    return min(left_s, SYSTEM_NAP_S if is_system(clock) else POLL_NAP_S)


async def wait_until(clock: Clock, due_s: float, wake: asyncio.Event) -> bool:
    """Wait until `clock()` reaches `due_s` (True) or `wake` is set first (False)."""
    while not wake.is_set():
        left = due_s - clock()
        if left <= 0:
            return True
        await wait_set(wake, nap_s(clock, left))
    return False


async def wait_set(event: asyncio.Event, timeout_s: float | None) -> bool:
    """Wait until `event` is set (True) or `timeout_s` passes (False; None: no limit).

    A cancellation that arrives in the same turn as the event still cancels: Python 3.11's
    `asyncio.wait_for` returns the event's result then and the cancellation is lost, so a
    worker loop around it would never stop."""
    try:
        async with asyncio.timeout(timeout_s):
            await event.wait()
    except TimeoutError:
        return False
    return True


def sleep_real(seconds: float) -> None:
    """Block for `seconds` of real time (polling loops of the sync API)."""
    time.sleep(seconds)
