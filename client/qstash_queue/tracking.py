"""A QStash job's fate, read from QStash's logs through the official SDK.

A job handed to QStash stays `queued` in the status store until someone reports on it: the
receiving helper does, a plain endpoint does not. So `get_job_status` reads the logs of the
job's message id (`client.log.list(filter={"message_id": ...})`) while the job is unsettled and
turns them into a report: `delivered` (a 2xx), `failed` for good (retries exhausted: the DLQ;
or cancelled), `retrying` with the attempt count and the next attempt's time, or nothing new.
The report goes through the same transition table as every other, so the receiver's
`processing`/`succeeded` stay authoritative.

Lookups are rationed so that a polling UI cannot hammer QStash: a job is looked up at most every
`StatusLookup.interval_s` (its `checked_ms` lives in the status store, so the interval holds
across processes), and one process makes at most `max_per_s` lookups a second.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from qstash.log import Log, LogState

from .ratelimit import MemoryRateLimiter
from .types import Backend, JobState, JobStatus

_TERMINAL_FAILURES = (LogState.FAILED, LogState.CANCELED, LogState.CANCEL_REQUESTED)


@dataclass(frozen=True)
class StatusLookup:
    """How `get_job_status` consults QStash's logs for unsettled QStash jobs.

    `interval_s`: at most one lookup per job in that many seconds; `max_per_s`: at most that many
    lookups per second in this process; `enabled=False` never looks.
    """

    interval_s: float = 1.0
    max_per_s: int = 10
    enabled: bool = True


@dataclass(frozen=True)
class Report:
    """What QStash's logs say about a job, as a transition."""

    state: JobState
    attempts: int
    detail: str
    error: str | None = None
    next_retry_ms: int | None = None
    gave_up: bool = False


def _newest(logs: Iterable[Log], states: tuple[LogState, ...]) -> Log | None:
    matching = [log for log in logs if log.state in states]
    return max(matching, key=lambda log: log.time) if matching else None


def _failure_text(log: Log) -> str:
    status = f"status {log.response_status}" if log.response_status else ""
    return "; ".join(part for part in (log.error or "", status) if part) or log.state.value


def report_from(logs: list[Log]) -> Report | None:
    """The job state QStash's log entries of one message stand for (None: nothing new).

    The entries are read as a set (delivered beats failed beats retrying), so their order and
    an attempt logged twice do not matter.
    """
    attempts = sum(1 for log in logs if log.state in (LogState.ERROR, LogState.DELIVERED))
    if (delivered := _newest(logs, (LogState.DELIVERED,))) is not None:
        return Report(JobState.DELIVERED, attempts,
                      f"QStash delivered it (attempt {attempts}, {delivered.url})")
    if (final := _newest(logs, _TERMINAL_FAILURES)) is not None:
        text = _failure_text(final)
        verb = "moved it to the DLQ" if final.state is LogState.FAILED else "cancelled it"
        return Report(JobState.FAILED, attempts, f"QStash {verb} after {attempts} attempt(s)",
                      error=text, gave_up=True)
    retry = _newest(logs, (LogState.RETRY,))
    error = _newest(logs, (LogState.ERROR,))
    if retry is None and error is None:
        return None
    next_ms = retry.next_delivery_time if retry is not None else None
    text = _failure_text(error) if error is not None else "retry planned"
    return Report(JobState.RETRYING, attempts,
                  f"QStash retries after {attempts} failed attempt(s): {text}",
                  next_retry_ms=next_ms)


def needs_lookup(status: JobStatus, lookup: StatusLookup, now_ms: int) -> bool:
    """Whether QStash may know more about the job than the store does (and it is time to ask)."""
    if not lookup.enabled or status.backend is not Backend.QSTASH or not status.message_id:
        return False
    if status.finished:
        return False
    return now_ms - status.checked_ms >= lookup.interval_s * 1000


class LookupBudget:
    """The per-process cap on lookups a second."""

    def __init__(self, lookup: StatusLookup) -> None:
        self._limiter = MemoryRateLimiter(limit=max(1, lookup.max_per_s), window_s=1.0)

    def take(self) -> bool:
        return self._limiter.hit("qstash-logs").allowed
