"""QStash's failure callback, read: which job QStash gave up on, and why.

A queue made with `failure_callback_url=` publishes every job with `Upstash-Failure-Callback`
and the job's id headers forwarded to that callback. When QStash moves the message to the DLQ
it posts the failure-callback JSON (`status`, `retried`, `maxRetries`, `dlqId`,
`sourceMessageId`, `sourceHeader`, ...) there; `JobReceiver.handle_failure_callback` verifies
it and marks the job `failed` for good.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .types import JOB_ID_HEADER, JOB_KEY_HEADER


@dataclass(frozen=True)
class FailureReport:
    """One failure callback: the job, the source message and its last answer."""

    job_id: str | None
    key: str | None
    message_id: str | None
    status: int
    attempts: int
    dlq_id: str | None
    url: str | None
    response_body: bytes

    @property
    def error(self) -> str:
        where = f" (DLQ {self.dlq_id})" if self.dlq_id else ""
        return (f"QStash gave up after {self.attempts} attempt(s): last answer status "
                f"{self.status}{where}")


def _first(headers: Mapping[str, Any], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return str(value[0] if isinstance(value, list) and value else value)
    return None


def _body(encoded: Any) -> bytes:
    try:
        return base64.b64decode(str(encoded or ""), validate=True)
    except (binascii.Error, ValueError):
        return b""


def parse_failure_callback(headers: Mapping[str, str], body: bytes) -> FailureReport:
    """The report in a failure callback request; raises ValueError for one that is not."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"not a failure callback: {exc}") from None
    if not isinstance(data, dict) or "sourceMessageId" not in data:
        raise ValueError("not a failure callback: no sourceMessageId")
    given = data.get("sourceHeader")
    source: Mapping[str, Any] = given if isinstance(given, dict) else {}
    return FailureReport(
        job_id=_first(headers, JOB_ID_HEADER) or _first(source, JOB_ID_HEADER),
        key=_first(headers, JOB_KEY_HEADER) or _first(source, JOB_KEY_HEADER),
        message_id=data.get("sourceMessageId"), status=int(data.get("status") or 0),
        attempts=int(data.get("retried") or 0) + 1, dlq_id=data.get("dlqId"),
        url=data.get("url"), response_body=_body(data.get("body")),
    )
