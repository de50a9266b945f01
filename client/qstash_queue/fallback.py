"""The fallback decision: which QStash errors send a job to the fallback queue, and episodes.

An episode starts with the first job that falls back and ends when a later publish through
QStash succeeds. While it lasts, jobs go straight to the fallback queue, except that QStash is
tried again (with the job at hand, not a synthetic probe that would cost quota or reach a
destination) at most every `FallbackPolicy.probe_interval_s` seconds of the queue's clock. The
start and the end of each episode are alerts (`alerts.AlertSink`): a WARNING on the
`qstash_queue.fallback` logger with the details in `record.fallback`, and the `on_alert` call.
"""

from __future__ import annotations

import re
import threading
from enum import StrEnum
from typing import Any

import httpx
from qstash.errors import DailyMessageLimitExceededError, QStashError, RateLimitExceededError

from .alerts import Alert, AlertEvent, AlertSink
from .clock import Clock, system_clock
from .types import FallbackPolicy

_STATUS = re.compile(r"status: (\d{3})")


class Reason(StrEnum):
    """Why a job went to the memory queue."""

    QUOTA = "quota"
    RATE_LIMIT = "rate_limit"
    OUTAGE = "outage"


def classify(exc: BaseException) -> Reason | None:
    """The fallback reason an SDK error stands for, or None for errors that must propagate."""
    if isinstance(exc, DailyMessageLimitExceededError):
        return Reason.QUOTA
    if isinstance(exc, RateLimitExceededError):
        return Reason.RATE_LIMIT
    if isinstance(exc, httpx.TransportError | ConnectionError | TimeoutError):
        return Reason.OUTAGE
    if isinstance(exc, QStashError) and (match := _STATUS.search(str(exc))):
        return Reason.OUTAGE if 500 <= int(match.group(1)) <= 599 else None
    return None


def _error_fields(exc: BaseException) -> dict[str, Any]:
    fields: dict[str, Any] = {"error_type": type(exc).__name__, "error": str(exc)}
    for name in ("limit", "remaining", "reset"):
        if hasattr(exc, name):
            fields[name] = getattr(exc, name)
    return fields


class FallbackController:
    """Thread-safe episode bookkeeping and counters; its only output is the episode alerts."""

    def __init__(
        self, policy: FallbackPolicy, clock: Clock = system_clock,
        sink: AlertSink | None = None,
    ) -> None:
        self.policy = policy
        self._clock = clock
        self._sink = sink or AlertSink()
        self._lock = threading.Lock()
        self._active: Reason | None = None
        self._next_probe = 0.0
        self._started_at = 0.0
        self._episodes = 0
        self._jobs = 0
        self._episode_jobs = 0

    def skip_reason(self) -> Reason | None:
        """The episode's reason while QStash is to be skipped; None: try QStash (or probe)."""
        with self._lock:
            if self._active is None or self._clock() >= self._next_probe:
                return None
            return self._active

    def reason_for(self, exc: BaseException) -> Reason | None:
        """The reason to fall back on `exc` under this policy, or None to let it propagate."""
        reason = classify(exc)
        allowed = {
            Reason.QUOTA: True,
            Reason.RATE_LIMIT: self.policy.on_rate_limit,
            Reason.OUTAGE: self.policy.on_outage,
        }
        return reason if reason is not None and self.policy.enabled and allowed[reason] else None

    def record_fallback(
        self, job_id: str, reason: Reason, exc: BaseException | None, store: str = "memory",
    ) -> None:
        """Count one job sent to the fallback queue; the first of an episode starts it."""
        now = self._clock()
        with self._lock:
            starting = self._active is None
            if starting:
                self._episodes += 1
                self._episode_jobs = 0
                self._started_at = now
            self._active = reason
            self._jobs += 1
            self._episode_jobs += 1
            self._next_probe = now + self.policy.probe_interval_s
            episode = self._episodes
        if starting:
            details = {"reason": reason.value, "episode": episode, "job_id": job_id,
                       "store": store, **(_error_fields(exc) if exc is not None else {})}
            self._sink.emit(Alert(
                AlertEvent.FALLBACK_STARTED,
                f"QStash refused job {job_id} ({reason.value}): falling back to the {store} "
                "queue", details))

    def record_success(self, job_id: str = "") -> None:
        """A publish through QStash succeeded: any episode is over."""
        now = self._clock()
        with self._lock:
            reason, self._active = self._active, None
            if reason is None:
                return
            details = {"reason": reason.value, "episode": self._episodes, "job_id": job_id,
                       "jobs": self._episode_jobs,
                       "duration_s": round(max(0.0, now - self._started_at), 3)}
        self._sink.emit(Alert(
            AlertEvent.FALLBACK_ENDED,
            f"QStash took job {job_id} again: the fallback episode ({reason.value}, "
            f"{details['jobs']} job(s)) is over", details))

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "fallback_episodes": self._episodes,
                "fallback_jobs": self._jobs,
                "fallback_active": self._active is not None,
                "fallback_reason": self._active.value if self._active else None,
                "fallback_episode_jobs": self._episode_jobs,
            }
