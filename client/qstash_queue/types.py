"""Values shared by the queue, its backends, the status stores and the receiving helpers."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

JOB_ID_HEADER = "X-Queue-Job-Id"
JOB_KEY_HEADER = "X-Queue-Job-Key"
BACKEND_HEADER = "X-Queue-Backend"
MESSAGE_ID_HEADER = "Upstash-Message-Id"
RETRIED_HEADER = "Upstash-Retried"
SIGNATURE_HEADER = "Upstash-Signature"
MEMORY_MESSAGE_PREFIX = "mem_"


class Backend(StrEnum):
    """Which backend took a job."""

    QSTASH = "qstash"
    MEMORY = "memory"
    REDIS = "redis"


class JobState(StrEnum):
    """A job's progress, as shown to users.

    `retrying`: an attempt failed and another is planned (`JobStatus.next_retry_ms`).
    `failed` with `JobStatus.gave_up` means no attempt remains (QStash's DLQ, the fallback
    worker's last retry); without it, one attempt failed and a retry may still come.
    """

    QUEUED = "queued"
    RETRYING = "retrying"
    DELIVERED = "delivered"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class EnqueueResult:
    """What `enqueue` returns: the job id, QStash's message id (None on the memory path)."""

    job_id: str
    backend: Backend
    message_id: str | None = None
    key: str = ""
    deduplicated: bool = False


@dataclass(frozen=True)
class HistoryEntry:
    """One state change of a job."""

    state: JobState
    at_ms: int
    detail: str = ""


@dataclass(frozen=True)
class JobStatus:
    """A job's current state, backend, attempts and history (oldest first).

    `next_retry_ms` is when the next attempt is planned (while `retrying`), `gave_up` says a
    `failed` job will not be tried again, and `checked_ms` is when QStash's logs were last read
    for it (wall clock).
    """

    job_id: str
    key: str
    state: JobState
    backend: Backend
    message_id: str | None = None
    attempts: int = 0
    error: str | None = None
    updated_ms: int = 0
    history: tuple[HistoryEntry, ...] = ()
    next_retry_ms: int | None = None
    gave_up: bool = False
    checked_ms: int = 0

    @property
    def finished(self) -> bool:
        """Nothing more will happen to the job: succeeded, delivered, or failed for good."""
        return self.state in (JobState.SUCCEEDED, JobState.DELIVERED) or (
            self.state is JobState.FAILED and self.gave_up)

    def to_json(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id, "key": self.key, "state": self.state.value,
            "backend": self.backend.value, "message_id": self.message_id,
            "attempts": self.attempts, "error": self.error, "updated_ms": self.updated_ms,
            "history": [[h.state.value, h.at_ms, h.detail] for h in self.history],
            "next_retry_ms": self.next_retry_ms, "gave_up": self.gave_up,
            "checked_ms": self.checked_ms,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobStatus:
        history = tuple(HistoryEntry(JobState(s), int(t), str(d)) for s, t, d in data["history"])
        return cls(
            job_id=data["job_id"], key=data["key"], state=JobState(data["state"]),
            backend=Backend(data["backend"]), message_id=data.get("message_id"),
            attempts=int(data.get("attempts", 0)), error=data.get("error"),
            updated_ms=int(data.get("updated_ms", 0)), history=history,
            next_retry_ms=data.get("next_retry_ms"), gave_up=bool(data.get("gave_up", False)),
            checked_ms=int(data.get("checked_ms", 0)),
        )


@dataclass(frozen=True)
class Job:
    """Everything needed to deliver one job on either backend."""

    job_id: str
    key: str
    endpoint: str
    body: bytes
    content_type: str
    method: str = "POST"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    retries: int | None = None
    dedup_id: str | None = None

    def delivery_headers(self, backend: Backend) -> dict[str, str]:
        """The caller's headers plus the job's id, key and backend (sent on every path)."""
        return {**self.headers, **self.id_headers(), BACKEND_HEADER: backend.value}

    def id_headers(self) -> dict[str, str]:
        return {JOB_ID_HEADER: self.job_id, JOB_KEY_HEADER: self.key}

    def to_json(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id, "key": self.key, "endpoint": self.endpoint,
            "body": base64.b64encode(self.body).decode(), "content_type": self.content_type,
            "method": self.method, "headers": dict(self.headers), "delay_s": self.delay_s,
            "retries": self.retries, "dedup_id": self.dedup_id,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Job:
        return cls(
            job_id=data["job_id"], key=data["key"], endpoint=data["endpoint"],
            body=base64.b64decode(data["body"]), content_type=data["content_type"],
            method=data["method"], headers=dict(data["headers"]),
            delay_s=float(data["delay_s"]), retries=data.get("retries"),
            dedup_id=data.get("dedup_id"),
        )


@dataclass(frozen=True)
class FallbackPolicy:
    """When a job that QStash refused goes to the fallback queue instead.

    Quota refusals (`DailyMessageLimitExceededError`) always fall back. `on_rate_limit` adds
    burst refusals (`RateLimitExceededError`); `on_outage` adds connection errors, timeouts
    and 5xx answers. During an episode QStash is tried again at most every `probe_interval_s`
    seconds of the queue's clock (with a real job); the first success ends the episode.
    """

    on_rate_limit: bool = False
    on_outage: bool = False
    probe_interval_s: float = 30.0
    enabled: bool = True


@dataclass(frozen=True)
class MemoryOptions:
    """The fallback worker (memory or Redis): bounded queue, rate, retries with exponential
    backoff (on the queue's clock)."""

    max_pending: int = 10_000
    concurrency: int = 4
    rate_per_s: float | None = None
    max_retries: int = 3
    backoff_base_s: float = 0.5
    backoff_max_s: float = 60.0
    timeout_s: float = 30.0

    def backoff_s(self, retried: int) -> float:
        return float(min(self.backoff_max_s, self.backoff_base_s * 2 ** retried))


def encode_payload(payload: Any, content_type: str | None = None) -> tuple[bytes, str]:
    """Bytes and Content-Type for a payload: str/bytes as given, anything else as JSON."""
    if isinstance(payload, bytes):
        return payload, content_type or "application/octet-stream"
    if isinstance(payload, str):
        return payload.encode(), content_type or "text/plain; charset=utf-8"
    return json.dumps(payload).encode(), content_type or "application/json"
