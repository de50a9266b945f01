"""Writes the Redis store holds back and sends together: many publishes, one round trip.

Storing a message, appending a log event and counting quota usage are queued here. Outside
`RedisStore.deferred()` the queue is sent at once; inside, it goes to Redis in one MULTI/EXEC
when `commit()` is awaited (one send serves every caller waiting at that moment), or earlier:
before any other command this process sends (see `WritesFirst`), so Redis always sees this
process's writes in the order they were made, and reads see them.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from . import lua


@dataclass
class PendingWrites:
    """What is queued; values for one key keep their order."""

    messages: list[bytes | str | int] = field(default_factory=list)
    """PUT_MESSAGES argument groups: tenant segment, id, json, kind, due ms."""
    appends: dict[str, list[bytes]] = field(default_factory=dict)
    limits: dict[str, int] = field(default_factory=dict)
    charges: dict[str, list[int]] = field(default_factory=dict)
    """usage key -> [count, ttl seconds]"""
    quota_tenants: set[str] = field(default_factory=set)
    increments: dict[tuple[str, str], int] = field(default_factory=dict)
    """(hash key, field) -> how much to add"""

    def __bool__(self) -> bool:
        return bool(self.messages or self.appends or self.charges or self.increments)


class WriteBehind:
    """The queue of deferred writes and the one place that sends them."""

    def __init__(self, client: Any, prefix: str, max_finished: int) -> None:
        self._client = client
        self._prefix = prefix
        self._max_finished = max_finished
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
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1

    # queueing
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
        await asyncio.shield(waiter)

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
            held = self._queue(pipe, pending)
            add_commands(pipe)
            try:
                replies: list[Any] = pipe.execute()
            except Exception as exc:
                _settle(waiter, exc)
                raise
            _settle(waiter, None)
            return replies[held:]

    def _queue(self, pipe: Any, pending: PendingWrites) -> int:
        """Put the pending writes on `pipe`; return how many commands that took."""
        before = len(pipe)
        if pending.messages:
            key = f"{self._prefix}:"
            pipe.eval(lua.PUT_MESSAGES, 3, key + "due", key + "claims", key + "order",
                      self._prefix, self._max_finished, *pending.messages)
        for name, values in pending.appends.items():
            pipe.eval(lua.APPEND_BOUNDED, 1, name, pending.limits[name], *values)
        for name, (count, ttl_s) in pending.charges.items():
            pipe.hincrby(name, "used", count)
            pipe.expire(name, ttl_s)
        for (name, counter), count in pending.increments.items():
            pipe.hincrby(name, counter, count)
        if pending.quota_tenants:
            pipe.sadd(f"{self._prefix}:quota-tenants", *pending.quota_tenants)
        return len(pipe) - before


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
