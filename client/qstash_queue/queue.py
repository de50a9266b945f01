"""`RequestQueue` and `AsyncRequestQueue`: enqueue through QStash, fall back to memory."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar

from qstash import AsyncQStash, QStash

from .backends.memory import LoopThread
from .backends.qstash import DEFAULT_TIMEOUT_S, AsyncQStashBackend, QStashBackend, RetrySetting
from .core import Delay, QueueCore
from .offload import is_blocking, offload
from .ratelimit import RateLimiter
from .status import StatusStore, wall_ms
from .types import Backend, EnqueueResult, FallbackPolicy, Job, JobStatus, MemoryOptions

DEFAULT_CLOSE_TIMEOUT_S = 30.0
T = TypeVar("T")


class RequestQueue:
    """Enqueue HTTP jobs through QStash (official SDK), falling back to an in-process queue.

    Example::

        with RequestQueue(qstash_token="...", status_store="redis://localhost") as queue:
            job = queue.enqueue("report:42", endpoint="https://app.example/jobs",
                                payload={"id": 42})
            queue.get_job_status(job.job_id).state  # "queued"

    `use_qstash=False` sends every job to the memory queue. `fallback` says when a refused job
    goes to memory (`FallbackPolicy`; quota refusals always do). `signing_keys` (default: the
    `QSTASH_*_SIGNING_KEY` variables, else fetched once through the SDK) sign memory deliveries.
    """

    def __init__(
        self, use_qstash: bool = True, qstash_token: str | None = None,
        base_url: str | None = None, status_store: StatusStore | str | None = None,
        fallback: FallbackPolicy | None = None, *, memory: MemoryOptions | None = None,
        signing_keys: tuple[str, str] | None = None, qstash_client: QStash | None = None,
        qstash_retry: RetrySetting = None, publish_timeout_s: float | None = DEFAULT_TIMEOUT_S,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        self._core = QueueCore(status_store=status_store, fallback=fallback, memory=memory,
                               signing_keys=signing_keys, rate_limiter=rate_limiter)
        self._qstash = QStashBackend(qstash_token, base_url, client=qstash_client,
                                     retry=qstash_retry, timeout_s=publish_timeout_s) \
            if use_qstash else None
        self._thread: LoopThread | None = None
        self._thread_lock = threading.Lock()

    def enqueue(
        self, key: str, *, endpoint: str, payload: Any = None, delay: Delay = None,
        dedup_id: str | None = None, headers: Mapping[str, str] | None = None,
        method: str = "POST", content_type: str | None = None, retries: int | None = None,
        rate_key: str | None = None,
    ) -> EnqueueResult:
        """Queue one HTTP request to `endpoint`; returns its job id, message id and backend.

        `payload` is sent as is when str/bytes, as JSON otherwise. `delay` is in seconds.
        `rate_key` (a user id or IP) is checked against the queue's `rate_limiter` first.
        """
        core = self._core
        core.check(rate_key)
        job = core.build(key, endpoint, payload, delay=delay, dedup_id=dedup_id,
                         headers=headers, method=method, content_type=content_type,
                         retries=retries)
        duplicate = core.duplicate_of(job)
        if duplicate is not None:
            return duplicate
        core.create_status(job, Backend.QSTASH if self._qstash else Backend.MEMORY, wall_ms())
        if self._qstash is not None:
            result = self._through_qstash(self._qstash, job)
            if result is not None:
                return result
        return self._to_memory(job)

    def _through_qstash(self, qstash: QStashBackend, job: Job) -> EnqueueResult | None:
        core = self._core
        reason = core.fallback.skip_reason()
        if reason is not None:
            core.diverted(job, reason, None)
            return None
        try:
            message_id = qstash.publish(job)
        except Exception as exc:
            reason = core.fallback.reason_for(exc)
            if reason is None:
                core.refused(job, exc)
                raise
            core.diverted(job, reason, exc)
            return None
        return core.accepted(job, message_id)

    def _to_memory(self, job: Job) -> EnqueueResult:
        core = self._core
        if not core.keys_resolved:
            core.keys_resolved = True
            core.signing_keys = self._fetch_keys()
        core.memory.signing_key = core.signing_keys[0] if core.signing_keys else None
        with self._thread_lock:
            if self._thread is None:
                self._thread = LoopThread()
            thread = self._thread
        try:
            thread.run(_submit(core, job))
        except Exception as exc:
            core.refused(job, exc)
            raise
        return core.taken_by_memory(job)

    def _fetch_keys(self) -> tuple[str, str] | None:
        try:
            return self._qstash.signing_keys() if self._qstash else None
        except Exception:
            return None

    def get_job_status(self, job_id: str) -> JobStatus | None:
        """The job's state, backend, attempts and history; None for an unknown job."""
        return self._core.store.get(job_id)

    def stats(self) -> dict[str, Any]:
        """Counters: `fallback_episodes`, `fallback_jobs`, `jobs_qstash`, `memory_*`, ..."""
        return self._core.stats()

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until the memory queue is empty; False if `timeout` ran out first."""
        if self._thread is None:
            return True
        return self._thread.run(self._core.memory.drain(timeout))

    def close(self, timeout: float | None = DEFAULT_CLOSE_TIMEOUT_S) -> None:
        """Drain the memory queue (up to `timeout`), then stop its worker; idempotent."""
        core = self._core
        if core.closed:
            return
        core.closed = True
        if self._thread is not None:
            self._thread.run(core.memory.drain(timeout))
            self._thread.run(core.memory.stop())
            self._thread.stop()
            self._thread = None
        if core.owns_store:
            core.store.close()

    def __enter__(self) -> RequestQueue:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


async def _submit(core: QueueCore, job: Job) -> None:
    core.memory.submit(job)


class AsyncRequestQueue:
    """The asyncio twin of `RequestQueue` (same arguments, awaitable methods).

    The memory worker runs on the event loop of the first `enqueue`; status-store calls run in
    a worker thread so that a Redis round trip never blocks the loop.
    """

    def __init__(
        self, use_qstash: bool = True, qstash_token: str | None = None,
        base_url: str | None = None, status_store: StatusStore | str | None = None,
        fallback: FallbackPolicy | None = None, *, memory: MemoryOptions | None = None,
        signing_keys: tuple[str, str] | None = None, qstash_client: AsyncQStash | None = None,
        qstash_retry: RetrySetting = None, publish_timeout_s: float | None = DEFAULT_TIMEOUT_S,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        self._core = QueueCore(status_store=status_store, fallback=fallback, memory=memory,
                               signing_keys=signing_keys, rate_limiter=rate_limiter)
        self._qstash = AsyncQStashBackend(qstash_token, base_url, client=qstash_client,
                                          retry=qstash_retry, timeout_s=publish_timeout_s) \
            if use_qstash else None
        self._blocking = is_blocking(self._core.store, self._core.rate_limiter)

    async def _off(self, func: Callable[..., T], *args: Any) -> T:
        return await offload(self._blocking, func, *args)

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
        backend = Backend.QSTASH if self._qstash else Backend.MEMORY
        await self._off(core.create_status, job, backend, wall_ms())
        if self._qstash is not None:
            result = await self._through_qstash(self._qstash, job)
            if result is not None:
                return result
        return await self._to_memory(job)

    async def _through_qstash(self, qstash: AsyncQStashBackend, job: Job) -> EnqueueResult | None:
        core = self._core
        reason = core.fallback.skip_reason()
        if reason is not None:
            await self._off(core.diverted, job, reason, None)
            return None
        try:
            message_id = await qstash.publish(job)
        except Exception as exc:
            reason = core.fallback.reason_for(exc)
            if reason is None:
                await self._off(core.refused, job, exc)
                raise
            await self._off(core.diverted, job, reason, exc)
            return None
        return await self._off(core.accepted, job, message_id)

    async def _to_memory(self, job: Job) -> EnqueueResult:
        core = self._core
        if not core.keys_resolved:
            core.keys_resolved = True
            core.signing_keys = await self._fetch_keys()
        core.memory.signing_key = core.signing_keys[0] if core.signing_keys else None
        try:
            core.memory.submit(job)
        except Exception as exc:
            await self._off(core.refused, job, exc)
            raise
        return core.taken_by_memory(job)

    async def _fetch_keys(self) -> tuple[str, str] | None:
        try:
            return await self._qstash.signing_keys() if self._qstash else None
        except Exception:
            return None

    async def get_job_status(self, job_id: str) -> JobStatus | None:
        """The job's state, backend, attempts and history; None for an unknown job."""
        return await self._off(self._core.store.get, job_id)

    def stats(self) -> dict[str, Any]:
        """Counters: `fallback_episodes`, `fallback_jobs`, `jobs_qstash`, `memory_*`, ..."""
        return self._core.stats()

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait until the memory queue is empty; False if `timeout` ran out first."""
        return await self._core.memory.drain(timeout)

    async def close(self, timeout: float | None = DEFAULT_CLOSE_TIMEOUT_S) -> None:
        """Drain the memory queue (up to `timeout`), then stop its worker; idempotent."""
        core = self._core
        if core.closed:
            return
        core.closed = True
        await core.memory.drain(timeout)
        await core.memory.stop()
        if core.owns_store:
            await self._off(core.store.close)

    async def __aenter__(self) -> AsyncRequestQueue:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
