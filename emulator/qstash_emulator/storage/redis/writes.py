"""Writes the Redis store holds back and sends together: many publishes, one round trip.

Storing a message, appending a log event and counting quota usage are queued here. Outside
`RedisStore.deferred()` the queue is sent at once; inside, it goes to Redis as one Lua script
(all of it or nothing) when `commit()` is awaited (one send serves every caller waiting at that
moment), or earlier: before any other command this process sends (see `WritesFirst`), so Redis
always sees this process's writes in the order they were made, and reads see them.

A deferred block that raises takes back the writes it queued that were not sent yet, and a
send that fails is not made again: an operation answered with an error leaves nothing behind
to be stored later. The script carries a deadline (see `Availability`): Redis that reads it
late, after the sender gave up, applies none of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis

from ...clocks import unix_now, wall_wait
from . import lua
from .availability import COMMIT_TIMEOUT_S, Availability, RedisUnavailable
from .pending import MARKER_TTL_MS, PendingWrites

LATE = "Redis ran the writes after their deadline, so none of them was stored"
SETTLE_POLL_S = 0.02


class UnsureCommit(RedisUnavailable):
    """A commit sent whose answer never came: `settle` finds out whether it was applied."""

    def __init__(self, reason: str, marker: str, give_up_at: float,
                 claims: list[tuple[str, str]]) -> None:
        super().__init__(reason, sent=True)
        self.marker = marker
        self.give_up_at = give_up_at
        self.claims = claims


class WriteBehind:
    """The queue of deferred writes and the one place that sends them."""

    def __init__(self, client: Any, prefix: str, max_finished: int,
                 availability: Availability | None = None) -> None:
        self._client = client
        self._prefix = prefix
        self._max_finished = max_finished
        self.availability = availability
        self._depth = 0
        self._pending = PendingWrites()
        self._waiter: asyncio.Future[None] | None = None
        self._flush_scheduled = False
        self._lock = threading.RLock()

    @property
    def deferring(self) -> bool:
        return self._depth > 0

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Hold writes back; if the block raises, take back those it queued and not yet sent."""
        pending, mark = self._pending, self._pending.mark()
        self._depth += 1
        try:
            yield
        except BaseException:
            if self._pending is pending:
                pending.restore(mark)
            else:  # sent meanwhile: what is queued now was queued by this block
                sent, dropped = pending.claims[mark.claims:], self._pending
                self._pending = PendingWrites(
                    releases=dropped.releases + sent + dropped.claims)
            raise
        finally:
            self._depth -= 1

    def deadline_us(self) -> int:
        """Redis's time after which a script sent now must change nothing (0: no deadline)."""
        return 0 if self.availability is None else self.availability.deadline_us()

    # queueing
    def claimed_dedup(self, key: str, message_id: str) -> None:
        """A dedup id was claimed for a message whose writes are queued: given up again if
        they are never stored."""
        self._pending.claims.append((key, message_id))

    def put_message(self, tenant: str, message_id: str, raw: bytes, kind: str, due_ms: int
                    ) -> None:
        self._pending.messages += [tenant, message_id, raw, kind, due_ms]

    def append(self, key: str, value: bytes, limit: int) -> None:
        self._pending.appends.setdefault(key, []).append(value)
        self._pending.limits[key] = limit

    def charge(self, key: str, count: int, ttl_s: int, tenant: str) -> None:
        held = self._pending.charges.setdefault(key, [0, ttl_s])
        held[0] += count
        self._pending.quota_tenants.add(tenant)

    def increment(self, key: str, name: str) -> None:
        """Add one to the field `name` of the hash `key`."""
        held = self._pending.increments
        held[key, name] = held.get((key, name), 0) + 1

    # sending
    async def commit(self) -> None:
        """Return once everything queued so far is in Redis (raises what sending raised)."""
        if not self._pending:
            return
        loop = asyncio.get_running_loop()
        if self._waiter is None:
            self._waiter = loop.create_future()
        waiter = self._waiter
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._scheduled_flush)
        try:
            await asyncio.shield(waiter)
        except UnsureCommit as unsure:
            if not await self.settle(unsure):
                self._pending.releases += unsure.claims
                raise RedisUnavailable(unsure.reason) from unsure

    async def settle(self, unsure: UnsureCommit) -> bool:
        """Whether an unsure commit was applied: asked as soon as Redis answers again (the
        asking also declines it for good); False once its deadline has passed unanswered (then
        Redis can no longer apply it)."""
        while True:
            try:
                return bool(self._client.eval(lua.DECLINE, 1, unsure.marker, MARKER_TTL_MS))
            except redis.ConnectionError:
                if unix_now() >= unsure.give_up_at:
                    return False
            await wall_wait(SETTLE_POLL_S)

    def _scheduled_flush(self) -> None:
        self._flush_scheduled = False
        with contextlib.suppress(Exception):  # the waiting callers received it
            self.flush()

    def flush(self) -> None:
        """Send everything queued now, in one MULTI/EXEC."""
        if self._pending:
            self.send_with(lambda pipe: None)

    def send_with(self, add_commands: Callable[[Any], None]) -> list[Any]:
        """Send everything queued now followed by the commands `add_commands` puts on the
        pipeline, in one MULTI/EXEC (one round trip); return those commands' replies."""
        with self._lock:
            pending, waiter = self._pending, self._waiter
            self._pending, self._waiter = PendingWrites(), None
            pipe = self._client.pipeline(transaction=True)
            marker = f"{self._prefix}:commit:{uuid.uuid4().hex}"
            held = self._queue(pipe, pending, marker)
            give_up_at = unix_now() + self._commit_timeout_s()
            add_commands(pipe)
            try:
                replies: list[Any] = pipe.execute()
                if held and not replies[0]:
                    raise RedisUnavailable(LATE)
            except RedisUnavailable as exc:
                claims = pending.releases + pending.claims
                if held and exc.sent:
                    error: Exception = UnsureCommit(exc.reason, marker, give_up_at, claims)
                else:
                    self._pending.releases += claims
                    error = exc
                _settle(waiter, error)
                raise error from exc
            except Exception as exc:
                self._pending.releases += pending.releases + pending.claims
                _settle(waiter, exc)
                raise
            _settle(waiter, None)
            return replies[held:]

    def _commit_timeout_s(self) -> float:
        return COMMIT_TIMEOUT_S if self.availability is None else (
            self.availability.commit_timeout_s)

    def _queue(self, pipe: Any, pending: PendingWrites, marker: str) -> int:
        """Put the pending writes on `pipe` (one script); return how many commands that took."""
        if not pending:
            return 0
        deadline_us = 0 if self.availability is None else self.availability.deadline_us(
            self.availability.commit_timeout_s)
        args = pending.commit_args(deadline_us, marker, self._prefix, self._max_finished)
        pipe.eval(lua.COMMIT, 0, *args)
        return 1


class WritesFirst:
    """The Redis client as the store uses it: any command (attribute) taken from it first sends
    the deferred writes, so nothing this process sends can overtake them."""

    def __init__(self, client: Any, writes: WriteBehind) -> None:
        self._client = client
        self._writes = writes

    def __getattr__(self, name: str) -> Any:
        self._writes.flush()
        return getattr(self._client, name)


def _settle(waiter: asyncio.Future[None] | None, error: Exception | None) -> None:
    if waiter is None:
        return

    def settle() -> None:
        if waiter.done():
            return
        if error is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(error)

    loop = waiter.get_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        settle()
    else:
        loop.call_soon_threadsafe(settle)
