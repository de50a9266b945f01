"""What the sync and async queues share: building jobs, statuses, signing keys, counters."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from .backends.memory import MemoryBackend
from .errors import QueueClosedError
from .fallback import FallbackController, Reason
from .ratelimit import RateLimiter, require
from .status import StatusStore, annotate, status_store_from, transition
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

Delay = float | int | timedelta | None


def env_signing_keys() -> tuple[str, str] | None:
    current = os.environ.get("QSTASH_CURRENT_SIGNING_KEY")
    return (current, os.environ.get("QSTASH_NEXT_SIGNING_KEY", current)) if current else None


def _seconds(delay: Delay) -> float:
    if delay is None:
        return 0.0
    return delay.total_seconds() if isinstance(delay, timedelta) else float(delay)


class QueueCore:
    """The I/O-free half of a queue (store calls aside); the queues add the waiting."""

    def __init__(
        self, *, status_store: StatusStore | str | None, fallback: FallbackPolicy | None,
        memory: MemoryOptions | None, signing_keys: tuple[str, str] | None,
        rate_limiter: RateLimiter | None,
    ) -> None:
        self.owns_store = not hasattr(status_store, "update")
        self.store = status_store_from(status_store)
        self.fallback = FallbackController(fallback or FallbackPolicy())
        self.memory = MemoryBackend(memory or MemoryOptions(), self.store)
        self.rate_limiter = rate_limiter
        self.signing_keys = signing_keys or env_signing_keys()
        self.keys_resolved = self.signing_keys is not None
        self.counts = {"jobs_qstash": 0, "jobs_memory": 0}
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
        """QStash took the job: note its message id; any fallback episode is over."""
        self.fallback.record_success()
        annotate(self.store, job.job_id, message_id=message_id)
        self._count("jobs_qstash")
        return EnqueueResult(job.job_id, Backend.QSTASH, message_id, job.key)

    def refused(self, job: Job, exc: BaseException) -> None:
        """QStash refused the job and it will not fall back: the job failed."""
        transition(self.store, job.job_id, JobState.FAILED, error=f"not accepted: {exc}")

    def diverted(self, job: Job, reason: Reason, exc: BaseException | None) -> None:
        """The job falls back to memory: count it, log an episode start once, mark it."""
        self.fallback.record_fallback(job.job_id, reason, exc)
        annotate(self.store, job.job_id, backend=Backend.MEMORY,
                 detail=f"fallback to memory: {reason.value}")

    def taken_by_memory(self, job: Job) -> EnqueueResult:
        self._count("jobs_memory")
        return EnqueueResult(job.job_id, Backend.MEMORY, None, job.key)

    def _count(self, name: str) -> None:
        with self._counts_lock:
            self.counts[name] += 1

    def stats(self) -> dict[str, Any]:
        with self._counts_lock:
            counts = dict(self.counts)
        return {**counts, **self.fallback.stats(), **self.memory.counters,
                "memory_pending": self.memory.pending}
