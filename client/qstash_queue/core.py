"""What the sync and async queues share: building jobs, statuses, fallback, usage, counters."""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, cast

from qstash.errors import DailyMessageLimitExceededError
from qstash.log import Log

from .alerts import AlertHandler, AlertSink
from .backends.memory import MemoryBackend
from .backends.redis_fallback import RedisFallbackQueue
from .backends.redis_layout import RedisFallback
from .clock import Clock, system_clock, wall_ms
from .errors import QueueClosedError, UnknownJobError
from .fallback import FallbackController, Reason
from .ratelimit import RateLimiter, require
from .status import (
    MemoryStatusStore,
    StatusStore,
    UsageStore,
    annotate,
    apply_transition,
    transition,
)
from .stores import status_store_from
from .tracking import LookupBudget, StatusLookup, needs_lookup, report_from
from .types import (
    Backend,
    EnqueueResult,
    FallbackPolicy,
    HistoryEntry,
    Job,
    JobState,
    JobStatus,
    MemoryOptions,
    encode_payload,
)
from .usage import UsageMonitor, UsageOptions

logger = logging.getLogger("qstash_queue")

Delay = float | int | timedelta | None
FallbackQueue = MemoryBackend | RedisFallbackQueue
FallbackStore = str | RedisFallback | None
WAIT_POLL_S = 0.05


def env_signing_keys() -> tuple[str, str] | None:
    current = os.environ.get("QSTASH_CURRENT_SIGNING_KEY")
    return (current, os.environ.get("QSTASH_NEXT_SIGNING_KEY", current)) if current else None


def _seconds(delay: Delay) -> float:
    if delay is None:
        return 0.0
    return delay.total_seconds() if isinstance(delay, timedelta) else float(delay)


def fallback_queue_from(
    spec: FallbackStore, memory: MemoryOptions, store: StatusStore, clock: Clock,
) -> FallbackQueue:
    """The fallback queue for `fallback_store`: None/`memory://`, `redis://...`, `RedisFallback`."""
    if spec is None or spec == "memory://":
        return MemoryBackend(memory, store, clock)
    if isinstance(spec, str):
        if not spec.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"unsupported fallback store URL: {spec!r}")
        spec = RedisFallback(spec)
    return RedisFallbackQueue(spec, memory, store, clock)


@dataclass(frozen=True)
class Settings:
    """Everything a queue is built from, apart from its QStash client."""

    status_store: StatusStore | str | None = None
    fallback: FallbackPolicy | None = None
    memory: MemoryOptions | None = None
    signing_keys: tuple[str, str] | None = None
    rate_limiter: RateLimiter | None = None
    fallback_store: FallbackStore = None
    clock: Clock | None = None
    on_alert: AlertHandler | None = None
    usage: UsageOptions | None = None
    status_lookup: StatusLookup | None = None
    failure_callback_url: str | None = None


class QueueCore:
    """The half of a queue that is the same for both (store calls aside); the queues add the
    waiting and the SDK calls."""

    def __init__(self, settings: Settings) -> None:
        self.owns_store = not hasattr(settings.status_store, "update")
        self.store = status_store_from(settings.status_store)
        self.clock = settings.clock or system_clock
        self.alerts = AlertSink(settings.on_alert)
        self.fallback = FallbackController(settings.fallback or FallbackPolicy(), self.clock,
                                           self.alerts)
        self.backup = fallback_queue_from(settings.fallback_store,
                                          settings.memory or MemoryOptions(), self.store,
                                          self.clock)
        usage_store: UsageStore = cast(UsageStore, self.store) \
            if hasattr(self.store, "increment") else MemoryStatusStore()
        self.usage = UsageMonitor(usage_store, settings.usage or UsageOptions(), self.clock,
                                  self.alerts)
        self.lookup = settings.status_lookup or StatusLookup()
        self.budget = LookupBudget(self.lookup)
        self.failure_callback_url = settings.failure_callback_url
        self.rate_limiter = settings.rate_limiter
        self.signing_keys = settings.signing_keys or env_signing_keys()
        self.keys_resolved = self.signing_keys is not None
        self.counts = {"jobs_qstash": 0, "jobs_memory": 0, "jobs_redis": 0}
        self._counts_lock = threading.Lock()
        self.closed = False

    def check(self, rate_key: str | None) -> None:
        """Refuse when closed or when the caller is over its rate limit."""
        if self.closed:
            raise QueueClosedError("the queue is closed")
        if rate_key is not None and self.rate_limiter is not None:
            require(self.rate_limiter, rate_key)

    def build(
        self, key: str, endpoint: str, payload: Any, *, delay: Delay, dedup_id: str | None,
        headers: Mapping[str, str] | None, method: str, content_type: str | None,
        retries: int | None,
    ) -> Job:
        body, kind = encode_payload(payload, content_type)
        return Job(
            job_id=f"job_{uuid.uuid4().hex}", key=key, endpoint=endpoint, body=body,
            content_type=kind, method=method.upper(), headers=dict(headers or {}),
            delay_s=_seconds(delay), retries=retries, dedup_id=dedup_id,
        )

    def duplicate_of(self, job: Job) -> EnqueueResult | None:
        """The earlier job with the same `dedup_id`, if there is one (store I/O)."""
        if job.dedup_id is None:
            return None
        existing = self.store.claim_dedup(job.dedup_id, job.job_id)
        if existing is None:
            return None
        status = self.store.get(existing)
        backend = status.backend if status else Backend.QSTASH
        message_id = status.message_id if status else None
        return EnqueueResult(existing, backend, message_id, job.key, deduplicated=True)

    def create_status(self, job: Job, backend: Backend, now_ms: int = 0) -> None:
        """Record the job as queued (before publishing, so no report can arrive first)."""
        entry = HistoryEntry(JobState.QUEUED, now_ms, f"enqueued on {backend.value}")
        self.store.create(JobStatus(job.job_id, job.key, JobState.QUEUED, backend,
                                    updated_ms=now_ms, history=(entry,)))

    def accepted(self, job: Job, message_id: str) -> EnqueueResult:
        """QStash took the job: note its message id, count it; any fallback episode is over."""
        self.fallback.record_success(job.job_id)
        annotate(self.store, job.job_id, message_id=message_id)
        self._count(Backend.QSTASH)
        try:
            self.usage.record_publish()
        except Exception:  # the monitor never costs an enqueue
            logger.exception("counting QStash usage failed")
        return EnqueueResult(job.job_id, Backend.QSTASH, message_id, job.key)

    def refused(self, job: Job, exc: BaseException) -> None:
        """The job was not accepted anywhere: it failed."""
        transition(self.store, job.job_id, JobState.FAILED, error=f"not accepted: {exc}",
                   gave_up=True)

    def fallback_reason(self, exc: BaseException) -> Reason | None:
        """Why `exc` sends the job to the fallback queue (None: propagate); learns limits."""
        if isinstance(exc, DailyMessageLimitExceededError):
            try:
                self.usage.learn_limit(exc.limit, exc.reset)
            except Exception:
                logger.exception("remembering QStash's quota limit failed")
        return self.fallback.reason_for(exc)

    def diverted(self, job: Job, reason: Reason, exc: BaseException | None) -> None:
        """The job falls back: count it, alert on an episode's start, mark it."""
        backend = self.backup.backend
        self.fallback.record_fallback(job.job_id, reason, exc, backend.value)
        annotate(self.store, job.job_id, backend=backend,
                 detail=f"fallback to {backend.value}: {reason.value}")

    def taken_by_fallback(self, job: Job) -> EnqueueResult:
        self._count(self.backup.backend)
        return EnqueueResult(job.job_id, self.backup.backend, None, job.key)

    def set_signing_key(self) -> None:
        self.backup.deliverer.signing_key = self.signing_keys[0] if self.signing_keys else None

    # -- status from QStash's logs ---------------------------------------------------------

    def wants_lookup(self, status: JobStatus | None) -> bool:
        """Whether to read QStash's logs for this job now (takes from the lookup budget)."""
        return status is not None and needs_lookup(status, self.lookup, wall_ms()) \
            and self.budget.take()

    def apply_logs(self, job_id: str, logs: list[Log]) -> JobStatus | None:
        """Record what QStash's logs say about the job, through the transition table."""
        report = report_from(logs)

        def change(status: JobStatus, now_ms: int) -> JobStatus:
            moved = None if report is None else apply_transition(
                status, report.state, now_ms, attempts=report.attempts, error=report.error,
                detail=report.detail, next_retry_ms=report.next_retry_ms,
                gave_up=report.gave_up)
            return replace(moved or status, checked_ms=now_ms)

        return self.store.update(job_id, change)

    def waited(self, status: JobStatus | None, job_id: str, states: Collection[str] | None
               ) -> bool:
        """Whether a `wait` is over: the job reached one of `states` (default: finished)."""
        if status is None:
            raise UnknownJobError(f"unknown job {job_id!r}")
        return status.finished if states is None else status.state in states

    # -- counters ----------------------------------------------------------------------------

    def _count(self, backend: Backend) -> None:
        with self._counts_lock:
            self.counts[f"jobs_{backend.value}"] += 1

    def stats(self) -> dict[str, Any]:
        with self._counts_lock:
            counts = dict(self.counts)
        return {**counts, **self.fallback.stats(), **self.backup.stats(), **self.usage.stats()}
