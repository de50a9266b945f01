"""Clocks: the only module that reads the wall clock."""

from __future__ import annotations

import asyncio
import time


class SystemClock:
    """Real time, optionally running `speed` times faster than the wall clock.

    >>> clock = SystemClock(speed=60)  # a minute of delays takes a second
    """

    virtual = False

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._origin = time.time()

    def now(self) -> float:
        if self.speed == 1.0:
            return time.time()
        return self._origin + (time.time() - self._origin) * self.speed

    def now_ms(self) -> int:
        return int(self.now() * 1000)

    def wall(self) -> float:
        return time.time()

    def wall_seconds(self, emulator_seconds: float) -> float:
        return emulator_seconds / self.speed


class VirtualClock:
    """Time that moves only when told to; starts at the wall time unless given `start`.

    >>> clock = VirtualClock(start=1_700_000_000)
    >>> clock.advance(90)
    >>> clock.now()
    1700000090.0
    """

    virtual = True

    def __init__(self, start: float | None = None) -> None:
        self._now_ms = round((time.time() if start is None else start) * 1000)

    def now(self) -> float:
        return self._now_ms / 1000

    def now_ms(self) -> int:
        return self._now_ms

    def wall(self) -> float:
        return time.time()

    def wall_seconds(self, emulator_seconds: float) -> float:
        return emulator_seconds

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock cannot go backwards")
        self._now_ms += round(seconds * 1000)

    def set_ms(self, timestamp_ms: int) -> None:
        """Move to `timestamp_ms` (never backwards)."""
        self._now_ms = max(self._now_ms, timestamp_ms)


def wall_now() -> float:
    """Monotonic wall seconds, for load generators and scenario pacing (not emulated time)."""
    return time.monotonic()


def unix_now() -> float:
    """Unix seconds of the wall clock, for deadlines shared with another process (Redis)."""
    return time.time()


async def wall_wait(seconds: float) -> None:
    """Wait `seconds` of wall time (the one place that sleeps; injected where waits happen)."""
    if seconds > 0:
        await asyncio.sleep(seconds)
