"""The memory fallback queue: an in-process worker that delivers jobs to their endpoints.

Jobs wait in this process (delays and retry backoff on the queue's clock) and are lost if it
exits; `redis_fallback.RedisFallbackQueue` keeps them in Redis instead. Attempts are made by a
`delivery.Deliverer`. The sync `RequestQueue` runs the worker on a private event loop in a
daemon thread (`LoopThread`).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from ..clock import Clock, system_clock, wait_set, wait_until
from ..errors import QueueFullError
from ..status import StatusStore
from ..types import Backend, Job, MemoryOptions
from .delivery import Deliverer

T = TypeVar("T")


class MemoryBackend:
    """A bounded, rate-limited, retrying delivery worker; runs on one event loop."""

    backend = Backend.MEMORY

    def __init__(
        self, options: MemoryOptions, store: StatusStore, clock: Clock = system_clock,
    ) -> None:
        self.options = options
        self.clock = clock
        self.deliverer = Deliverer(options, store, Backend.MEMORY, clock)
        self._pending = 0
        self._ready: asyncio.Queue[tuple[Job, int]] | None = None
        self._idle: asyncio.Event | None = None
        self._wake: asyncio.Event | None = None
        self._delayed: list[tuple[float, int, Job, int]] = []
        self._order = itertools.count()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def counters(self) -> dict[str, int]:
        return self.deliverer.counters

    @property
    def pending(self) -> int:
        return self._pending

    def stats(self) -> dict[str, Any]:
        return {**self.counters, "memory_pending": self._pending}

    def _start(self) -> None:
        if self._ready is not None:
            return
        self._ready = asyncio.Queue()
        self._idle = asyncio.Event()
        self._idle.set()
        self._wake = asyncio.Event()
        self.deliverer.open()
        workers = [self._work() for _ in range(max(1, self.options.concurrency))]
        self._tasks = [asyncio.create_task(work) for work in (*workers, self._timer())]

    async def submit(self, job: Job) -> None:
        """Take a job (on the worker's loop); raises `QueueFullError` at `max_pending`."""
        self._start()
        if self._pending >= self.options.max_pending:
            raise QueueFullError(f"memory queue holds {self._pending} jobs already")
        self._pending += 1
        assert self._idle is not None
        self._idle.clear()
        self._later(job.delay_s, job, 0)

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait until every job is delivered or given up; False if `timeout` ran out first."""
        if self._idle is None:
            return True
        return await wait_set(self._idle, timeout)

    async def start(self) -> None:
        """Start the worker now (it also starts with the first job)."""
        self._start()

    async def wind_down(self, timeout: float | None = None) -> bool:
        """Before stopping: deliver what is waiting (up to `timeout`), as `drain`."""
        return await self.drain(timeout)

    async def stop(self) -> None:
        """Cancel the workers (jobs still waiting are dropped) and close the client."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.deliverer.close()
        self._tasks, self._ready, self._delayed = [], None, []

    def _later(self, delay_s: float, job: Job, retried: int) -> None:
        assert self._ready is not None and self._wake is not None
        if delay_s <= 0:
            self._ready.put_nowait((job, retried))
            return
        heapq.heappush(self._delayed, (self.clock() + delay_s, next(self._order), job, retried))
        self._wake.set()

    async def _timer(self) -> None:
        """Move delayed jobs to the ready queue when the clock reaches their due time."""
        assert self._ready is not None and self._wake is not None
        while True:
            self._wake.clear()
            if not self._delayed:
                await self._wake.wait()
                continue
            if not await wait_until(self.clock, self._delayed[0][0], self._wake):
                continue
            now = self.clock()
            while self._delayed and self._delayed[0][0] <= now:
                _, _, job, retried = heapq.heappop(self._delayed)
                self._ready.put_nowait((job, retried))

    async def _work(self) -> None:
        assert self._ready is not None
        while True:
            job, retried = await self._ready.get()
            delay_s = await self.deliverer.attempt_or_give_up(job, retried)
            if delay_s is None:
                self._done()
            else:
                self._later(delay_s, job, retried + 1)

    def _done(self) -> None:
        self._pending -= 1
        if self._pending == 0 and self._idle is not None:
            self._idle.set()


class LoopThread:
    """An event loop in a daemon thread, for running a fallback worker behind a sync API."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="qstash-queue-worker",
                                        daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run `coro` on the loop and wait for its result."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5.0)
        if not self._thread.is_alive():
            self.loop.close()
