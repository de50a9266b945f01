"""Errors raised by the queueing layer (QStash's own errors come from `qstash.errors`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .types import JobStatus


class QueueError(Exception):
    """Base class of this package's errors."""


class QueueClosedError(QueueError):
    """The queue was closed; it takes no more jobs."""


class QueueFullError(QueueError):
    """The memory queue holds `max_pending` jobs already (back-pressure)."""


class UnknownJobError(QueueError, LookupError):
    """No status is known for that job id (never enqueued here, or expired)."""


class WaitTimeoutError(QueueError, TimeoutError):
    """`wait` ran out of time; `status` is the job's status when it gave up."""

    def __init__(self, job_id: str, status: JobStatus, timeout: float) -> None:
        super().__init__(f"job {job_id} is still {status.state.value} after {timeout:g}s")
        self.job_id = job_id
        self.status = status


class RateLimitedError(QueueError):
    """A caller went over its rate limit; try again after `retry_after_s` seconds."""

    def __init__(self, identity: str, limit: int, retry_after_s: float) -> None:
        super().__init__(
            f"rate limit of {limit} exceeded for {identity!r}; retry after {retry_after_s:.3f}s"
        )
        self.identity = identity
        self.limit = limit
        self.retry_after_s = retry_after_s
