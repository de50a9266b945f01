"""`AsyncRequestQueue`: the asyncio twin of `RequestQueue`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Mapping
from types import TracebackType
from typing import Any, TypeVar

from qstash import AsyncQStash

from .alerts import AlertHandler
from .backends.qstash import DEFAULT_TIMEOUT_S, AsyncQStashBackend, RetrySetting
from .backends.redis_fallback import RedisFallbackQueue
from .clock import Clock, monotonic, wall_ms
from .core import WAIT_POLL_S, Delay, FallbackStore, QueueCore, Settings
from .errors import WaitTimeoutError
from .offload import is_blocking, offload
from .queue import DEFAULT_CLOSE_TIMEOUT_S, DEFAULT_WAIT_TIMEOUT_S
from .ratelimit import RateLimiter
from .status import StatusStore
from .tracking import StatusLookup
from .types import Backend, EnqueueResult, FallbackPolicy, Job, JobStatus, MemoryOptions
from .usage import Usage, UsageOptions

T = TypeVar("T")
logger = logging.getLogger("qstash_queue")


class AsyncRequestQueue:
    """The asyncio twin of `RequestQueue` (same arguments, awaitable methods).

    The fallback worker runs on the event loop of `start()` (called by `async with` and by the
    first `enqueue`); a Redis fallback worker only delivers once started. Status-store calls
    run in a worker thread so that a Redis round trip never blocks the loop.
    """

    def __init__(
        self, use_qstash: bool = True, qstash_token: str | None = None,
        base_url: str | None = None, status_store: StatusStore | str | None = None,
        fallback: FallbackPolicy | None = None, *, memory: MemoryOptions | None = None,
        signing_keys: tuple[str, str] | None = None, qstash_client: AsyncQStash | None = None,
        qstash_retry: RetrySetting = None, publish_timeout_s: float | None = DEFAULT_TIMEOUT_S,
        rate_limiter: RateLimiter | None = None, fallback_store: FallbackStore = None,
        clock: Clock | None = None, on_alert: AlertHandler | None = None,
        usage: UsageOptions | None = None, status_lookup: StatusLookup | None = None,
        failure_callback_url: str | None = None,
    ) -> None:
        self._core = QueueCore(Settings(
            status_store=status_store, fallback=fallback, memory=memory,
            signing_keys=signing_keys, rate_limiter=rate_limiter, fallback_store=fallback_store,
            clock=clock, on_alert=on_alert, usage=usage, status_lookup=status_lookup,
            failure_callback_url=failure_callback_url))
        self._qstash = AsyncQStashBackend(qstash_token, base_url, client=qstash_client,
                                          retry=qstash_retry, timeout_s=publish_timeout_s,
                                          failure_callback_url=failure_callback_url) \
            if use_qstash else None
        self._blocking = is_blocking(self._core.store, self._core.rate_limiter)
        self._started = False

    async def _off(self, func: Callable[..., T], *args: Any) -> T:
        return await offload(self._blocking, func, *args)

    async def start(self) -> None:
        """Start a Redis fallback worker on this loop (a memory one starts with its first
        job); idempotent."""
        if self._started:
            return
        self._started = True
        backup = self._core.backup
        if isinstance(backup, RedisFallbackQueue) and backup.config.worker:
            await self._resolve_keys()
            await backup.start()

    async def _resolve_keys(self) -> None:
        core = self._core
        if not core.keys_resolved:
            core.keys_resolved = True
            core.signing_keys = await self._fetch_keys()
        core.set_signing_key()

    async def enqueue(
        self, key: str, *, endpoint: str, payload: Any = None, delay: Delay = None,
        dedup_id: str | None = None, headers: Mapping[str, str] | None = None,
        method: str = "POST", content_type: str | None = None, retries: int | None = None,
        rate_key: str | None = None,
    ) -> EnqueueResult:
        """Queue one HTTP request to `endpoint` (see `RequestQueue.enqueue`)."""
        core = self._core
        await self._off(core.check, rate_key)
        job = core.build(key, endpoint, payload, delay=delay, dedup_id=dedup_id,
                         headers=headers, method=method, content_type=content_type,
                         retries=retries)
        duplicate = await self._off(core.duplicate_of, job)
        if duplicate is not None:
            return duplicate
        backend = Backend.QSTASH if self._qstash else core.backup.backend
        await self._off(core.create_status, job, backend, wall_ms())
        if self._qstash is not None:
            result = await self._through_qstash(self._qstash, job)
            if result is not None:
                return result
        return await self._to_fallback(job)

    async def _through_qstash(self, qstash: AsyncQStashBackend, job: Job) -> EnqueueResult | None:
        core = self._core
        reason = core.fallback.skip_reason()
        if reason is not None:
            await self._off(core.diverted, job, reason, None)
            return None
        try:
            message_id = await qstash.publish(job)
        except Exception as exc:
            reason = await self._off(core.fallback_reason, exc)
            if reason is None:
                await self._off(core.refused, job, exc)
                raise
            await self._off(core.diverted, job, reason, exc)
            return None
        return await self._off(core.accepted, job, message_id)

    async def _to_fallback(self, job: Job) -> EnqueueResult:
        core = self._core
        await self._resolve_keys()
        await self.start()
        try:
            await core.backup.submit(job)
        except Exception as exc:
            await self._off(core.refused, job, exc)
            raise
        return core.taken_by_fallback(job)

    async def _fetch_keys(self) -> tuple[str, str] | None:
        try:
            return await self._qstash.signing_keys() if self._qstash else None
        except Exception:
            return None

    async def get_job_status(self, job_id: str) -> JobStatus | None:
        """The job's state, backend, attempts and history (see `RequestQueue.get_job_status`)."""
        core = self._core
        status = await self._off(core.store.get, job_id)
        if self._qstash is None or not core.wants_lookup(status):
            return status
        assert status is not None and status.message_id is not None
        try:
            logs = await self._qstash.logs(status.message_id)
        except Exception as exc:
            logger.warning("reading QStash's logs for job %s failed: %s", job_id, exc)
            return status
        return await self._off(core.apply_logs, job_id, logs)

    async def wait(
        self, job_id: str, states: Collection[str] | None = None,
        timeout: float = DEFAULT_WAIT_TIMEOUT_S,
    ) -> JobStatus:
        """Wait until the job reaches one of `states` (default: until it is `finished`)."""
        deadline = monotonic() + timeout
        while True:
            status = await self.get_job_status(job_id)
            if self._core.waited(status, job_id, states):
                assert status is not None
                return status
            if monotonic() >= deadline:
                assert status is not None
                raise WaitTimeoutError(job_id, status, timeout)
            await asyncio.sleep(WAIT_POLL_S)

    async def usage(self) -> Usage:
        """QStash publishes counted today and this month, and the limits (see `RequestQueue`)."""
        return await self._off(self._core.usage.usage)

    def stats(self) -> dict[str, Any]:
        """Counters (see `RequestQueue.stats`)."""
        return self._core.stats()

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait until the fallback queue is empty; False if `timeout` ran out first."""
        return await self._core.backup.drain(timeout)

    async def close(self, timeout: float | None = DEFAULT_CLOSE_TIMEOUT_S) -> None:
        """Stop the fallback worker (see `RequestQueue.close`); idempotent."""
        core = self._core
        if core.closed:
            return
        core.closed = True
        await core.backup.wind_down(timeout)
        await core.backup.stop()
        if core.owns_store:
            await self._off(core.store.close)

    async def __aenter__(self) -> AsyncRequestQueue:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
