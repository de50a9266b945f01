"""The receiving side: verified, idempotent job handlers for Starlette/ASGI or plain functions.

`JobReceiver.handle` (sync) and `handle_async` take the request's full URL, headers and body:

1. `Upstash-Signature` is checked with the official `qstash.Receiver` (current key, then next
   key, `sub` must be the full URL); a bad or missing one is answered 401 and nothing runs.
2. The idempotency key is the job id header both backends send (`X-Queue-Job-Id`), or
   `Upstash-Message-Id` for messages published by other code (`idempotency_key="message"`
   always uses the message id). A key whose handler already succeeded is answered with the
   stored first reply (`X-Queue-Replayed: true`) without running the handler; a key running
   right now gets 409 with `Retry-After`, so QStash retries it later.
3. The handler gets a `Delivery`; its return value is the reply (JSON, or a `Reply`). An
   exception answers 500 (QStash retries) and the key is released for that retry.
4. With a status store the job moves to `processing`, then `succeeded` or `failed`.

`handle_failure_callback` (and `failure_callback_starlette()`) receive QStash's failure
callback for queues made with `failure_callback_url=`: verified like a delivery, then the job is
marked `failed` for good (`gave_up`), with QStash's last answer as the error.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from qstash import Receiver
from qstash.errors import SignatureError

from .failure_callbacks import FailureReport, parse_failure_callback
from .idempotency import IdempotencyStore, StoredReply
from .offload import is_blocking, offload
from .status import StatusStore, transition
from .stores import idempotency_store_from, status_store_from
from .types import (
    BACKEND_HEADER,
    JOB_ID_HEADER,
    JOB_KEY_HEADER,
    MESSAGE_ID_HEADER,
    RETRIED_HEADER,
    SIGNATURE_HEADER,
    JobState,
)

REPLAYED_HEADER = "X-Queue-Replayed"
BUSY_RETRY_AFTER_S = 5


@dataclass(frozen=True)
class Delivery:
    """One verified delivery, as the handler sees it (header names lower-cased)."""

    url: str
    headers: Mapping[str, str]
    body: bytes
    message_id: str | None = None
    job_id: str | None = None
    key: str | None = None
    backend: str | None = None
    retried: int = 0

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)

    @classmethod
    def parse(cls, url: str, headers: Mapping[str, str], body: bytes) -> Delivery:
        lower = {name.lower(): value for name, value in headers.items()}
        retried = lower.get(RETRIED_HEADER.lower(), "0")
        return cls(
            url=url, headers=lower, body=body,
            message_id=lower.get(MESSAGE_ID_HEADER.lower()),
            job_id=lower.get(JOB_ID_HEADER.lower()), key=lower.get(JOB_KEY_HEADER.lower()),
            backend=lower.get(BACKEND_HEADER.lower()),
            retried=int(retried) if retried.isdigit() else 0,
        )


@dataclass(frozen=True)
class Reply:
    """A handler's answer: status, body and headers."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, result: Any) -> Reply:
        """A handler's return value as a reply: a `Reply` as is, anything else as JSON."""
        if isinstance(result, Reply):
            return result
        return cls(200, json.dumps(result).encode(), {"Content-Type": "application/json"})

    @classmethod
    def error(cls, status: int, message: str, **headers: str) -> Reply:
        return cls(status, json.dumps({"error": message}).encode(),
                   {"Content-Type": "application/json", **headers})


Handler = Callable[[Delivery], Any]


@dataclass(frozen=True)
class _Started:
    delivery: Delivery
    idem_key: str | None


def _env_key(name: str) -> str | None:
    return os.environ.get(name) or None


class JobReceiver:
    """Verify, deduplicate and run job handlers; report their progress to a status store.

    Example::

        receiver = JobReceiver("sig_current", "sig_next", status_store="redis://localhost")
        app = Starlette(routes=[Route("/jobs", receiver.starlette(handle), methods=["POST"])])
    """

    def __init__(
        self, current_signing_key: str | None = None, next_signing_key: str | None = None, *,
        status_store: StatusStore | str | None = None,
        idempotency: IdempotencyStore | str | None = None,
        idempotency_key: Literal["job", "message"] = "job",
    ) -> None:
        current = current_signing_key or _env_key("QSTASH_CURRENT_SIGNING_KEY")
        following = next_signing_key or _env_key("QSTASH_NEXT_SIGNING_KEY") or current
        if not current or not following:
            raise ValueError("JobReceiver needs signing keys (or QSTASH_*_SIGNING_KEY)")
        self._receiver = Receiver(current, following)
        self.status_store = status_store_from(status_store) if status_store is not None else None
        self.idempotency = idempotency_store_from(idempotency)
        self.idempotency_key = idempotency_key
        self._blocking = is_blocking(self.status_store, self.idempotency)

    # -- the plain-function forms ----------------------------------------------------------

    def handle(
        self, *, url: str, headers: Mapping[str, str], body: bytes, handler: Handler,
    ) -> Reply:
        """Verify and run `handler` once per job (synchronous handlers only)."""
        started = self._begin(url, headers, body)
        if isinstance(started, Reply):
            return started
        try:
            result = handler(started.delivery)
        except Exception as exc:
            return self._failed(started, exc)
        return self._complete(started, Reply.of(result))

    async def handle_async(
        self, *, url: str, headers: Mapping[str, str], body: bytes, handler: Handler,
    ) -> Reply:
        """`handle` for asyncio: coroutine handlers are awaited, others run in a thread."""
        started = await offload(self._blocking, self._begin, url, headers, body)
        if isinstance(started, Reply):
            return started
        try:
            if inspect.iscoroutinefunction(handler):
                result = await handler(started.delivery)
            else:
                result = await asyncio.to_thread(handler, started.delivery)
        except Exception as exc:
            return await offload(self._blocking, self._failed, started, exc)
        return await offload(self._blocking, self._complete, started, Reply.of(result))

    # -- Starlette / ASGI --------------------------------------------------------------------

    def starlette(self, handler: Handler) -> Callable[[Any], Awaitable[Any]]:
        """A Starlette endpoint (`Route("/jobs", receiver.starlette(handle))`)."""
        from .asgi import starlette_endpoint

        return starlette_endpoint(self, handler)

    def asgi(self, handler: Handler) -> Callable[..., Awaitable[None]]:
        """A bare ASGI application that answers every HTTP request with `handler`."""
        from .asgi import asgi_app

        return asgi_app(self, handler)

    # -- QStash's failure callback ----------------------------------------------------------

    def handle_failure_callback(
        self, *, url: str, headers: Mapping[str, str], body: bytes,
    ) -> Reply:
        """Verify a failure callback and mark its job `failed` for good (answers 200)."""
        problem = self.verify(url, headers, body)
        if problem is not None:
            return Reply.error(401, f"invalid signature: {problem}")
        try:
            report = parse_failure_callback(headers, body)
        except ValueError as exc:
            return Reply.error(400, str(exc))
        self._mark_given_up(report)
        return Reply.of({"job_id": report.job_id, "state": JobState.FAILED.value})

    async def handle_failure_callback_async(
        self, *, url: str, headers: Mapping[str, str], body: bytes,
    ) -> Reply:
        """`handle_failure_callback` for asyncio (store calls in a thread when they block)."""
        return await offload(self._blocking, self.handle_failure_callback, url=url,
                             headers=headers, body=body)

    def failure_callback_starlette(self) -> Callable[[Any], Awaitable[Any]]:
        """A Starlette endpoint for `failure_callback_url` (`Route("/jobs/failed", ...)`)."""
        from .asgi import failure_callback_endpoint

        return failure_callback_endpoint(self)

    def _mark_given_up(self, report: FailureReport) -> None:
        if self.status_store is None or report.job_id is None:
            return
        transition(self.status_store, report.job_id, JobState.FAILED, attempts=report.attempts,
                   error=report.error, detail=report.error, gave_up=True)

    # -- the steps ---------------------------------------------------------------------------

    def verify(self, url: str, headers: Mapping[str, str], body: bytes) -> str | None:
        """None when the signature is valid, else why not."""
        signature = {k.lower(): v for k, v in headers.items()}.get(SIGNATURE_HEADER.lower())
        if not signature:
            return "missing Upstash-Signature"
        try:
            self._receiver.verify(signature=signature, body=body.decode(), url=url)
        except (SignatureError, UnicodeDecodeError) as exc:
            return str(exc) or type(exc).__name__
        return None

    def _begin(self, url: str, headers: Mapping[str, str], body: bytes) -> Reply | _Started:
        problem = self.verify(url, headers, body)
        if problem is not None:
            return Reply.error(401, f"invalid signature: {problem}")
        delivery = Delivery.parse(url, headers, body)
        idem_key = delivery.message_id if self.idempotency_key == "message" else (
            delivery.job_id or delivery.message_id)
        if idem_key is not None:
            claim = self.idempotency.begin(idem_key)
            if claim.kind == "done" and claim.reply is not None:
                stored = claim.reply
                return Reply(stored.status, stored.body,
                             {"Content-Type": stored.content_type, REPLAYED_HEADER: "true"})
            if claim.kind == "busy":
                return Reply.error(409, f"delivery {idem_key} is being processed",
                                   **{"Retry-After": str(BUSY_RETRY_AFTER_S)})
        self._report(delivery, JobState.PROCESSING, detail="handler started")
        return _Started(delivery, idem_key)

    def _complete(self, started: _Started, reply: Reply) -> Reply:
        if not 200 <= reply.status < 300:
            return self._release(started, reply, f"handler answered {reply.status}")
        if started.idem_key is not None:
            content_type = dict(reply.headers).get("Content-Type", "application/json")
            self.idempotency.finish(started.idem_key,
                                    StoredReply(reply.status, reply.body, content_type))
        self._report(started.delivery, JobState.SUCCEEDED, detail="handler succeeded")
        return reply

    def _failed(self, started: _Started, exc: Exception) -> Reply:
        message = f"{type(exc).__name__}: {exc}"
        return self._release(started, Reply.error(500, f"handler failed: {message}"), message)

    def _release(self, started: _Started, reply: Reply, error: str) -> Reply:
        if started.idem_key is not None:
            self.idempotency.abandon(started.idem_key)
        self._report(started.delivery, JobState.FAILED, error=error)
        return reply

    def _report(
        self, delivery: Delivery, state: JobState, *, error: str | None = None, detail: str = "",
    ) -> None:
        if self.status_store is None or delivery.job_id is None:
            return
        transition(self.status_store, delivery.job_id, state, attempts=delivery.retried + 1,
                   error=error, detail=detail)
