"""The due loop: starts attempts when messages fall due, on whatever clock is injected."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

from ..clocks import wall_wait
from ..core.messages.attempts import Attempts
from ..core.model import DeliveryRequest, Message, Response
from ..core.ports import Clock, Dispatcher, Store, Ticker
from ..failures import report
from .fairness import DestinationSlots

REMOTE_BATCH_S = 0.005
RETRY_AFTER_ERROR_S = 0.2


class Scheduler:
    """Pops due messages from the store's due index and runs their attempts concurrently:
    up to `concurrency` in all and `destination_concurrency` per destination (see fairness).

    On a virtual clock nothing becomes due by itself: `advance()` walks time forward from
    one due time to the next and waits until every attempt that fell due has been made.
    """

    def __init__(
        self,
        attempts: Attempts,
        dispatcher: Dispatcher,
        store: Store,
        clock: Clock,
        *,
        concurrency: int = 256,
        destination_concurrency: int = 64,
        tickers: list[Ticker] | None = None,
    ) -> None:
        self._attempts = attempts
        self._dispatcher = dispatcher
        self._store = store
        self._clock = clock
        self._concurrency = concurrency
        self.slots = DestinationSlots(destination_concurrency)
        self.tickers: list[Ticker] = list(tickers or [])
        self._inflight: set[asyncio.Task[None]] = set()
        self._wake: asyncio.Event | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._unreleased: list[tuple[str, str]] = []  # attempts to give back to the store
        self._planned_ms: int | None = None  # while idle: the due time the timer is set for
        self._finishing: list[tuple[DeliveryRequest, Response, asyncio.Future[None]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None  # kept: each lookup is a syscall

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        """The loop the scheduler runs on (Python 3.11 asks the OS for its pid on every
        `get_running_loop()`, so it is looked up once per start)."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def start(self) -> None:
        self._loop = None
        self._wake = asyncio.Event()
        self._loop_task = self._running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
            self._loop_task = None
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
        for message in self.slots.take_all_waiting():  # taken from the store, never begun
            with contextlib.suppress(Exception):
                self._store.messages.release(message.tenant, message.message_id,
                                             message.due_at_ms)
        self._loop = None

    def notify(self, due_at_ms: int | None = None) -> None:
        """Look for work now; not needed for work due no sooner than the planned look."""
        if self._wake is None:
            return
        if due_at_ms is not None and due_at_ms > self._clock.now_ms() and (
            self._clock.virtual or (self._planned_ms is not None and due_at_ms >= self._planned_ms)
        ):
            return
        self._wake.set()

    def next_due_ms(self) -> int | None:
        """The earliest due time of any message or ticker."""
        times = [self._store.messages.next_due_ms(), *(t.next_due_ms() for t in self.tickers)]
        known = [t for t in times if t is not None]
        return min(known) if known else None

    def run_due(self) -> int:
        """Fire due tickers, then start an attempt for every message due now (slots allowing)."""
        self._release_given_back()
        now_ms = self._clock.now_ms()
        fired = sum(ticker.fire_due(now_ms) for ticker in self.tickers)
        return fired + self._start_due()

    def _start_due(self) -> int:
        """Start waiting messages whose destination has room, then take more from the store."""
        ready = self.slots.ready_waiting()
        if ready:
            self._begin(ready, reread=True)
        free = self._concurrency - len(self._inflight)
        if free <= 0 or self.slots.full:
            return len(ready)
        due = self._attempts.take_due(free)
        if due:
            self._begin(self.slots.admit(due), reread=False)
        return len(ready) + len(due)

    def _begin(self, messages: list[Message], *, reread: bool) -> None:
        """Begin attempts for messages holding a destination slot; slots of those not begun
        (finished or gone meanwhile) are given back."""
        try:
            with self._store.deferred():
                requests = self._attempts.begin(messages, reread=reread)
        except Exception:  # taken from the store but not begun: due again once it answers
            for message in messages:
                self.slots.give(message.url)
                self._unreleased.append((message.tenant, message.message_id))
            raise
        begun = {(r.tenant, r.message_id) for r in requests}
        for message in messages:
            if (message.tenant, message.message_id) not in begun:
                self.slots.give(message.url)
        for request in requests:
            self.spawn(self._attempt(request))

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run extra delivery work (e.g. an injected duplicate) as one that drain waits for."""
        task = self._running_loop().create_task(work)
        self._inflight.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            report("a delivery attempt failed midway and was given back", exc)
        self.notify()

    async def _attempt(self, request: DeliveryRequest) -> None:
        try:
            await self._complete(request)
        except Exception:
            self._give_back(request)
            raise
        finally:
            self.slots.give(request.url)

    def _give_back(self, request: DeliveryRequest) -> None:
        """An attempt that failed midway (e.g. the store unreachable) is made again later."""
        self._unreleased.append((request.tenant, request.message_id))
        with contextlib.suppress(Exception):  # else the next pass tries again
            self._release_given_back()
        self.notify()

    def _release_given_back(self) -> None:
        while self._unreleased:
            tenant, message_id = self._unreleased[0]
            self._store.messages.release(tenant, message_id, self._clock.now_ms())
            self._unreleased.pop(0)

    async def _complete(self, request: DeliveryRequest) -> None:
        await self._store.commit()  # the ACTIVE state is stored before the request goes out
        response = await self._dispatcher.dispatch(request)
        loop = self._running_loop()
        done = loop.create_future()
        self._finishing.append((request, response, done))
        if len(self._finishing) == 1:
            loop.call_soon(self._finish_batch)
        await done
        await self._store.commit()

    def _finish_batch(self) -> None:
        """Finish every attempt whose response came in this turn of the loop, together (a remote
        store reads their messages in one round trip and sends their writes in one more)."""
        batch, self._finishing = self._finishing, []
        outcomes = [(request, response) for request, response, _ in batch]
        try:
            with self._store.deferred():
                errors = self._attempts.finish(outcomes)
        except Exception as exc:
            errors = [exc] * len(batch)
        for (_, _, done), error in zip(batch, errors, strict=True):
            if error is None:
                done.set_result(None)
            else:
                done.set_exception(error)

    async def _run(self) -> None:
        while True:
            try:
                await self._pass()
            except Exception as exc:  # e.g. Redis unreachable for a moment: report, go on
                report("scheduler pass failed; trying again", exc)
                await wall_wait(RETRY_AFTER_ERROR_S)

    async def _pass(self) -> None:
        """Start what is due, or wait until something may be."""
        assert self._wake is not None
        if self.run_due():
            await self._breathe()
            return
        self._wake.clear()
        delay = self._idle_delay()
        if delay == 0.0:
            return
        timer = None
        if delay is not None:
            timer = self._running_loop().call_later(delay, self._wake.set)
        try:
            await self._wake.wait()
        finally:
            self._planned_ms = None
            if timer is not None:
                timer.cancel()
        await self._breathe()

    async def _breathe(self) -> None:
        """Let other work run. With a remote store, wait a few ms so that one pass (a few round
        trips) serves a whole burst of publishes instead of running once per publish."""
        if self._store.poll_s is None:
            await asyncio.sleep(0)
        else:
            await wall_wait(REMOTE_BATCH_S)

    def _idle_delay(self) -> float | None:
        """Wall seconds until the next due message (or the store's next poll); None: wait to be
        woken."""
        poll_s = self._store.poll_s
        if len(self._inflight) >= self._concurrency or self._clock.virtual:
            return poll_s
        next_due = self.next_due_ms()
        if next_due is None:
            return poll_s
        wait_ms = next_due - self._clock.now_ms()
        if wait_ms <= 0:
            return 0.0
        self._planned_ms = next_due
        wait_s = self._clock.wall_seconds(wait_ms / 1000)
        return wait_s if poll_s is None else min(wait_s, poll_s)

    def _due_now(self) -> bool:
        next_due = self.next_due_ms()
        return next_due is not None and next_due <= self._clock.now_ms()

    async def drain(self) -> None:
        """Return once nothing is due now and no attempt is in flight."""
        while True:
            self.run_due()
            if self._inflight:
                await asyncio.wait(set(self._inflight))
            elif self._due_now():
                await asyncio.sleep(0)
            else:
                return
