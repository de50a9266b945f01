"""The Redis fallback queue: jobs kept in Redis, delivered at least once by any instance.

Layout (prefix `P`, queue name `N`): the stream `P:fallback:N:ready` holds jobs due now, read
through the consumer group `workers`; the sorted set `P:fallback:N:delayed` holds delayed jobs
and retries, scored by their due time in ms on the queue's clock. Every move is one Lua script
or transaction, so a job is always in exactly one of them:

- enqueue: `XADD` to the stream (or `ZADD` when delayed), refused at `max_pending`;
- a worker reads with `XREADGROUP`; the entry stays in the group's pending list until the
  attempt ends, then is acknowledged and deleted (`XACK` + `XDEL`) or, for a retry, moved to
  the delayed set in the same script;
- due delayed entries are promoted to the stream by whichever worker looks first;
- an entry pending longer than `lease_s` (its worker died, e.g. SIGKILL) is taken over with
  `XAUTOCLAIM`; a live worker renews the lease of its entries in flight (`XCLAIM ... JUSTID`).

The lease runs on Redis's clock (it is about crashed processes, not emulated time); delays and
retry backoff run on the queue's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from typing import Any, cast

import redis
import redis.asyncio as aioredis
from redis.commands.core import AsyncScript, Script
from redis.exceptions import ResponseError

from ..clock import Clock, nap_s, system_clock, wait_set
from ..errors import QueueFullError
from ..status import StatusStore
from ..types import Backend, Job, MemoryOptions
from .delivery import Deliverer
from .redis_acks import AckBatcher
from .redis_layout import (
    BLOCK_MS,
    GROUP,
    IDLE_CONSUMER_MS,
    PROMOTE,
    PROMOTE_POLL_S,
    RESCHEDULE,
    SUBMIT,
    RedisFallback,
    decode_entry,
    encode_entry,
)

logger = logging.getLogger("qstash_queue.redis_fallback")

class RedisFallbackQueue:
    """A fallback queue in Redis, shared by every instance that names the same one."""

    backend = Backend.REDIS

    def __init__(
        self, config: RedisFallback, options: MemoryOptions, store: StatusStore,
        clock: Clock = system_clock,
    ) -> None:
        self.config, self.options, self.clock = config, options, clock
        self.deliverer = Deliverer(options, store, Backend.REDIS, clock)
        base = f"{config.prefix}:fallback:{config.name}"
        self.ready_key, self.delayed_key = f"{base}:ready", f"{base}:delayed"
        self.consumer = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.counters = {"redis_claimed": 0}
        self._redis: aioredis.Redis | None = None
        self._scripts: dict[str, AsyncScript] = {}
        self._sync_submit: Script | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._room: asyncio.Event | None = None
        self._wake: asyncio.Event | None = None
        self._acks: AckBatcher | None = None

    @property
    def redis(self) -> aioredis.Redis:
        if self._redis is None:
            self._redis = aioredis.Redis.from_url(self.config.url, decode_responses=True)
        return self._redis

    def stats(self) -> dict[str, Any]:
        return {**self.deliverer.counters, **self.counters, "redis_in_flight": len(self._inflight)}

    async def start(self) -> None:
        """Start this instance's worker (if `worker=True`); idempotent."""
        if self._tasks or not self.config.worker:
            return
        await self._ensure_group()
        self._room = asyncio.Event()
        self._wake = asyncio.Event()
        self.deliverer.open()
        self._acks = AckBatcher(lambda: self.redis, self.ready_key, GROUP)
        loops = (self._read_loop(), self._claim_loop(), self._promote_loop(), self._acks.run(),
                 self._renew_loop())
        # the lease renewal comes last: `wind_down` keeps it running
        self._tasks = [asyncio.create_task(loop) for loop in loops]

    async def submit(self, job: Job) -> None:
        """Keep a job in Redis; raises `QueueFullError` at `max_pending` jobs waiting."""
        self._taken(await self._script(SUBMIT, *self._submit_args(job)))

    def submit_blocking(self, job: Job) -> None:
        """`submit` from a thread without an event loop (the sync queue's callers)."""
        if self._sync_submit is None:
            client = redis.Redis.from_url(self.config.url)
            self._sync_submit = client.register_script(SUBMIT)
        keys = [self.ready_key, self.delayed_key]
        self._taken(self._sync_submit(keys=keys, args=self._submit_args(job)))

    def close_blocking(self) -> None:
        """Close the client `submit_blocking` made, if any."""
        if self._sync_submit is not None:
            self._sync_submit.registered_client.close()
            self._sync_submit = None

    def _submit_args(self, job: Job) -> list[Any]:
        due = "" if job.delay_s <= 0 else str(int((self.clock() + job.delay_s) * 1000))
        return [self.options.max_pending, due, encode_entry(job, 0)]

    def _taken(self, answer: Any) -> None:
        if not answer:
            raise QueueFullError(f"the Redis fallback queue holds {self.options.max_pending} "
                                 "jobs already")

    async def _script(self, source: str, *args: Any) -> Any:
        """Run one of the layout's scripts on (ready, delayed) by its SHA (loaded once)."""
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = self.redis.register_script(source)
        return await script(keys=[self.ready_key, self.delayed_key], args=list(args))

    async def waiting(self) -> int:
        """Jobs in Redis not yet delivered or given up (every instance's)."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.xlen(self.ready_key)
        pipe.zcard(self.delayed_key)
        ready, delayed = await pipe.execute()
        return int(ready) + int(delayed)

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait until the shared queue is empty; False if `timeout` ran out first."""
        async def empty() -> None:
            while await self.waiting():
                await asyncio.sleep(0.05)

        try:
            async with asyncio.timeout(timeout):  # wait_for can lose a cancellation (3.11)
                await empty()
        except TimeoutError:
            return False
        return True

    async def wind_down(self, timeout: float | None = None) -> bool:
        """Take no more entries and let the deliveries in flight end (up to `timeout`); what
        stays in Redis is delivered by the other instances, or by this one after a restart."""
        for task in self._tasks[:-1]:  # every loop but the lease renewal
            task.cancel()
        late: set[asyncio.Task[None]] = set()
        if self._inflight:
            _, late = await asyncio.wait(list(self._inflight.values()), timeout=timeout)
        if self._acks is not None:
            with contextlib.suppress(Exception):  # unacknowledged entries are claimed later
                await self._acks.flush()
        return not late

    async def stop(self) -> None:
        """Stop the worker; entries it holds stay pending and are claimed after the lease."""
        tasks = [*self._tasks, *self._inflight.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks, self._inflight = [], {}
        await self.deliverer.close()
        if self._redis is not None:
            await self._redis.aclose()
            self._redis, self._scripts = None, {}

    # -- the worker's loops --------------------------------------------------------------

    async def _ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.ready_key, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def _free(self) -> int:
        return max(0, self.options.concurrency - len(self._inflight))

    def _batch(self) -> int:
        """How many free slots make a read worth its round trip (one when idle)."""
        return 1 if not self._inflight else max(1, self.options.concurrency // 4)

    async def _read_loop(self) -> None:
        assert self._room is not None
        while True:
            self._room.clear()
            if self._free() < self._batch():
                await self._room.wait()
                continue
            try:
                answer = await self.redis.xreadgroup(
                    GROUP, self.consumer, {self.ready_key: ">"}, count=self._free(),
                    block=BLOCK_MS)
            except Exception:
                logger.exception("reading the Redis fallback queue failed; trying again")
                await asyncio.sleep(1.0)
                continue
            streams = cast(list[tuple[str, list[tuple[str, dict[str, str]]]]], answer or [])
            self._spawn([item for _, items in streams for item in items])

    async def _claim_loop(self) -> None:
        """Take over entries whose worker stopped renewing them (crashed or killed)."""
        while True:
            await asyncio.sleep(self.config.lease_s / 2)
            try:
                await self._claim_once()
            except Exception:
                logger.exception("claiming abandoned fallback jobs failed; trying again")

    async def _claim_once(self) -> None:
        free = self._free()
        if free == 0:
            return
        answer = await self.redis.xautoclaim(
            self.ready_key, GROUP, self.consumer, int(self.config.lease_s * 1000),
            start_id="0-0", count=free)
        entries = [entry for entry in answer[1] if entry and entry[1]]
        self.counters["redis_claimed"] += len(entries)
        self._spawn(entries)
        await self._forget_idle_consumers()

    async def _forget_idle_consumers(self) -> None:
        for consumer in await self.redis.xinfo_consumers(self.ready_key, GROUP):
            if consumer["pending"] == 0 and consumer["idle"] > IDLE_CONSUMER_MS:
                await self.redis.xgroup_delconsumer(self.ready_key, GROUP, consumer["name"])

    async def _renew_loop(self) -> None:
        """Keep the lease of the entries this worker is delivering."""
        while True:
            await asyncio.sleep(self.config.lease_s / 3)
            ids: list[Any] = list(self._inflight)
            if not ids:
                continue
            try:
                await self.redis.xclaim(self.ready_key, GROUP, self.consumer, 0, ids,
                                        justid=True)
            except Exception:
                logger.exception("renewing fallback leases failed; trying again")

    async def _promote_loop(self) -> None:
        """Move delayed entries whose time has come (on the queue's clock) to the stream."""
        assert self._wake is not None
        while True:
            self._wake.clear()
            try:
                wait_s = await self._promote_due()
            except Exception:
                logger.exception("promoting delayed fallback jobs failed; trying again")
                wait_s = 1.0
            await wait_set(self._wake, wait_s)

    async def _promote_due(self) -> float:
        now_ms = int(self.clock() * 1000)
        await self._script(PROMOTE, now_ms, 100)
        first = await self.redis.zrange(self.delayed_key, 0, 0, withscores=True)
        if not first:
            return PROMOTE_POLL_S
        left_s = (float(first[0][1]) - now_ms) / 1000
        return min(PROMOTE_POLL_S, nap_s(self.clock, left_s)) if left_s > 0 else 0.0

    # -- one entry -----------------------------------------------------------------------

    def _spawn(self, entries: list[tuple[str, dict[str, str]]]) -> None:
        for entry_id, fields in entries:
            task = asyncio.create_task(self._deliver(entry_id, fields["entry"]))
            self._inflight[entry_id] = task

    async def _deliver(self, entry_id: str, entry: str) -> None:
        try:
            await self._settle(entry_id, entry)
        except Exception:  # Redis gone for a moment: the entry stays pending, to be claimed
            logger.exception("settling fallback entry %s failed", entry_id)
        finally:
            self._inflight.pop(entry_id, None)
            if self._room is not None:
                self._room.set()

    async def _settle(self, entry_id: str, entry: str) -> None:
        """Attempt the entry's job, then acknowledge it or move it to the delayed set."""
        try:
            job, retried = decode_entry(entry)
        except (ValueError, KeyError, TypeError):
            logger.error("dropping fallback entry %s: not a job: %.200s", entry_id, entry)
            await self._finish(entry_id)
            return
        delay_s = await self.deliverer.attempt_or_give_up(job, retried)
        if delay_s is None:
            await self._finish(entry_id)
        else:
            await self._reschedule(entry_id, job, retried + 1, delay_s)

    async def _finish(self, entry_id: str) -> None:
        if self._acks is None:  # a worker that was never started
            pipe = self.redis.pipeline(transaction=True)
            pipe.xack(self.ready_key, GROUP, entry_id)
            pipe.xdel(self.ready_key, entry_id)
            await pipe.execute()
        else:
            self._acks.add(entry_id)

    async def _reschedule(self, entry_id: str, job: Job, retried: int, delay_s: float) -> None:
        due_ms = int((self.clock() + delay_s) * 1000)
        await self._script(RESCHEDULE, GROUP, entry_id, due_ms, encode_entry(job, retried))
        if self._wake is not None:
            self._wake.set()
