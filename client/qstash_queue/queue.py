"""`RequestQueue`: enqueue through QStash, fall back to a memory or Redis queue."""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Mapping
from types import TracebackType
from typing import Any

from qstash import QStash

from .alerts import AlertHandler
from .backends.memory import LoopThread
from .backends.qstash import DEFAULT_TIMEOUT_S, QStashBackend, RetrySetting
from .backends.redis_fallback import RedisFallbackQueue
from .clock import Clock, monotonic, sleep_real, wall_ms
from .core import WAIT_POLL_S, Delay, FallbackStore, QueueCore, Settings
from .errors import WaitTimeoutError
from .ratelimit import RateLimiter
from .status import StatusStore
from .tracking import StatusLookup
from .types import Backend, EnqueueResult, FallbackPolicy, Job, JobStatus, MemoryOptions
from .usage import Usage, UsageOptions

DEFAULT_CLOSE_TIMEOUT_S = 30.0
DEFAULT_WAIT_TIMEOUT_S = 30.0
logger = logging.getLogger("qstash_queue")


class RequestQueue:
    """Enqueue HTTP jobs through QStash (official SDK), falling back to a memory or Redis queue.

    Example::

        with RequestQueue(qstash_token="...", status_store="redis://localhost") as queue:
            job = queue.enqueue("report:42", endpoint="https://app.example/jobs",
                                payload={"id": 42})
            queue.wait(job.job_id, timeout=60).state  # "delivered", "succeeded" or "failed"

    `use_qstash=False` sends every job to the fallback queue. `fallback` says when a refused job
    falls back (`FallbackPolicy`; quota refusals always do); `fallback_store` is where fallen-back
    jobs wait (`None`: this process's memory; `"redis://..."` or `RedisFallback(...)`: Redis,
    shared by every instance, surviving restarts). `signing_keys` (default: the
    `QSTASH_*_SIGNING_KEY` variables, else fetched once through the SDK) sign fallback
    deliveries. `clock` (seconds since the epoch; default `time.time`) times the fallback's
    probes, delays and backoff and the usage monitor's days. `on_alert` receives usage and
    fallback `Alert`s; `usage` gives limits and thresholds; `status_lookup` rations reads of
    QStash's logs; `failure_callback_url` asks QStash to call the receiving helper when it gives
    up on a job.
    """

    def __init__(
        self, use_qstash: bool = True, qstash_token: str | None = None,
        base_url: str | None = None, status_store: StatusStore | str | None = None,
        fallback: FallbackPolicy | None = None, *, memory: MemoryOptions | None = None,
        signing_keys: tuple[str, str] | None = None, qstash_client: QStash | None = None,
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
        self._qstash = QStashBackend(qstash_token, base_url, client=qstash_client,
                                     retry=qstash_retry, timeout_s=publish_timeout_s,
                                     failure_callback_url=failure_callback_url) \
            if use_qstash else None
        self._thread: LoopThread | None = None
        self._thread_lock = threading.Lock()
        backup = self._core.backup
        if isinstance(backup, RedisFallbackQueue) and backup.config.worker:
            self._resolve_keys()
            self._loop().run(backup.start())

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
        core.create_status(job, Backend.QSTASH if self._qstash else core.backup.backend,
                           wall_ms())
        if self._qstash is not None:
            result = self._through_qstash(self._qstash, job)
            if result is not None:
                return result
        return self._to_fallback(job)

    def _through_qstash(self, qstash: QStashBackend, job: Job) -> EnqueueResult | None:
        core = self._core
        reason = core.fallback.skip_reason()
        if reason is not None:
            core.diverted(job, reason, None)
            return None
        try:
            message_id = qstash.publish(job)
        except Exception as exc:
            reason = core.fallback_reason(exc)
            if reason is None:
                core.refused(job, exc)
                raise
            core.diverted(job, reason, exc)
            return None
        return core.accepted(job, message_id)

    def _to_fallback(self, job: Job) -> EnqueueResult:
        core = self._core
        self._resolve_keys()
        backup = core.backup
        try:
            if isinstance(backup, RedisFallbackQueue):
                backup.submit_blocking(job)  # no hop to the worker's busy loop
            else:
                self._loop().run(backup.submit(job))
        except Exception as exc:
            core.refused(job, exc)
            raise
        return core.taken_by_fallback(job)

    def _resolve_keys(self) -> None:
        core = self._core
        if not core.keys_resolved:
            core.keys_resolved = True
            core.signing_keys = self._fetch_keys()
        core.set_signing_key()

    def _loop(self) -> LoopThread:
        with self._thread_lock:
            if self._thread is None:
                self._thread = LoopThread()
            return self._thread

    def _fetch_keys(self) -> tuple[str, str] | None:
        try:
            return self._qstash.signing_keys() if self._qstash else None
        except Exception:
            return None

    def get_job_status(self, job_id: str) -> JobStatus | None:
        """The job's state, backend, attempts and history; None for an unknown job.

        For a QStash job that is not finished, QStash's logs are read first (rationed by
        `status_lookup`), so a plain endpoint's job moves on to `delivered`, `retrying` or
        `failed` too.
        """
        core = self._core
        status = core.store.get(job_id)
        if self._qstash is None or not core.wants_lookup(status):
            return status
        assert status is not None and status.message_id is not None
        try:
            logs = self._qstash.logs(status.message_id)
        except Exception as exc:
            logger.warning("reading QStash's logs for job %s failed: %s", job_id, exc)
            return status
        return core.apply_logs(job_id, logs)

    def wait(
        self, job_id: str, states: Collection[str] | None = None,
        timeout: float = DEFAULT_WAIT_TIMEOUT_S,
    ) -> JobStatus:
        """Block until the job reaches one of `states` (default: until it is `finished`).

        Raises `WaitTimeoutError` after `timeout` seconds (real time), `UnknownJobError` for an
        unknown job id.
        """
        deadline = monotonic() + timeout
        while True:
            status = self.get_job_status(job_id)
            if self._core.waited(status, job_id, states):
                assert status is not None
                return status
            if monotonic() >= deadline:
                assert status is not None
                raise WaitTimeoutError(job_id, status, timeout)
            sleep_real(WAIT_POLL_S)

    def usage(self) -> Usage:
        """QStash publishes counted today and this month (UTC, queue clock) and the limits."""
        return self._core.usage.usage()

    def stats(self) -> dict[str, Any]:
        """Counters: `fallback_*`, `jobs_qstash`, `jobs_memory`, `memory_*`, `usage_*`, ..."""
        return self._core.stats()

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until the fallback queue is empty; False if `timeout` ran out first."""
        backup = self._core.backup
        if self._thread is None and not isinstance(backup, RedisFallbackQueue):
            return True
        return self._loop().run(backup.drain(timeout))

    def close(self, timeout: float | None = DEFAULT_CLOSE_TIMEOUT_S) -> None:
        """Stop the fallback worker, idempotent: a memory queue is drained first (up to
        `timeout`); a Redis one finishes its deliveries in flight and leaves the rest in Redis."""
        core = self._core
        if core.closed:
            return
        core.closed = True
        if self._thread is not None:
            self._thread.run(core.backup.wind_down(timeout))
            self._thread.run(core.backup.stop())
            self._thread.stop()
            self._thread = None
        if isinstance(core.backup, RedisFallbackQueue):
            core.backup.close_blocking()
        if core.owns_store:
            core.store.close()

    def __enter__(self) -> RequestQueue:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
