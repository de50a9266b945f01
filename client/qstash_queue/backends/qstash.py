"""The QStash backend: every publish goes through the official `qstash` SDK.

The SDK retries transport errors 5 times with exponential backoff (about 12 s in all) and waits
up to 600 s for an answer. A queue that can fall back wants to know sooner, so clients built
here use `PROMPT_RETRY` (one retry after 100 ms) and `timeout_s` (10 s by default). A client you
pass in yourself is used exactly as configured, apart from `timeout_s` when you give one.
"""

from __future__ import annotations

import math
import os
from typing import Any, Literal

import httpx
from qstash import AsyncQStash, QStash
from qstash.http import RetryConfig
from qstash.log import Log, parse_logs_response, prepare_list_logs_request_params

from ..types import Backend, Job

PROMPT_RETRY = RetryConfig(retries=1, backoff=lambda retry_count: 100.0)
DEFAULT_TIMEOUT_S = 10.0

RetrySetting = RetryConfig | Literal[False] | None


def token_from(token: str | None) -> str:
    """The token given, else `QSTASH_TOKEN`; a queue that uses QStash cannot do without."""
    found = token or os.environ.get("QSTASH_TOKEN")
    if not found:
        raise ValueError("use_qstash=True needs qstash_token= or the QSTASH_TOKEN variable")
    return found


def publish_arguments(job: Job, failure_callback_url: str | None = None) -> dict[str, Any]:
    """The SDK's `message.publish` arguments for a job (its headers are forwarded; with a
    failure callback, the job's id headers are forwarded to the callback too)."""
    arguments: dict[str, Any] = {
        "url": job.endpoint, "body": job.body, "content_type": job.content_type,
        "method": job.method, "headers": job.delivery_headers(Backend.QSTASH),
    }
    if failure_callback_url is not None:
        arguments["failure_callback"] = failure_callback_url
        arguments["failure_callback_headers"] = job.id_headers()
    if job.delay_s > 0:
        arguments["delay"] = math.ceil(job.delay_s)
    if job.retries is not None:
        arguments["retries"] = job.retries
    if job.dedup_id is not None:
        arguments["deduplication_id"] = job.dedup_id
    return arguments


def _set_timeout(client: QStash | AsyncQStash, timeout_s: float | None) -> None:
    """Bound the SDK's wait for an answer (it has no public option; 600 s otherwise)."""
    inner = getattr(getattr(client, "http", None), "_client", None)
    if timeout_s is not None and isinstance(inner, httpx.Client | httpx.AsyncClient):
        inner.timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0))


def _retry(retry: RetrySetting) -> RetryConfig | Literal[False]:
    return PROMPT_RETRY if retry is None else retry


class QStashBackend:
    """Publishes jobs with a synchronous `qstash.QStash` client."""

    def __init__(
        self, token: str | None = None, base_url: str | None = None, *,
        client: QStash | None = None, retry: RetrySetting = None,
        timeout_s: float | None = DEFAULT_TIMEOUT_S, failure_callback_url: str | None = None,
    ) -> None:
        self.client = client or QStash(token_from(token), retry=_retry(retry), base_url=base_url)
        self.failure_callback_url = failure_callback_url
        _set_timeout(self.client, timeout_s)

    def publish(self, job: Job) -> str:
        """Publish; returns QStash's message id (SDK errors propagate)."""
        response = self.client.message.publish(
            **publish_arguments(job, self.failure_callback_url))
        return str(response.message_id)  # type: ignore[union-attr]

    def logs(self, message_id: str) -> list[Log]:
        """QStash's log entries of one message (SDK errors propagate).

        The same request and parsing as the SDK's `log.list`, whose sync form also prints
        every answer to stdout (qstash 3.4), which a status endpoint polled by a UI must not.
        """
        params = prepare_list_logs_request_params(
            cursor=None, count=None, filter={"message_id": message_id})
        answer = self.client.http.request(path="/v2/events", method="GET", params=params)
        return parse_logs_response(answer["events"])

    def signing_keys(self) -> tuple[str, str]:
        keys = self.client.signing_key.get()
        return keys.current, keys.next


class AsyncQStashBackend:
    """Publishes jobs with an asynchronous `qstash.AsyncQStash` client."""

    def __init__(
        self, token: str | None = None, base_url: str | None = None, *,
        client: AsyncQStash | None = None, retry: RetrySetting = None,
        timeout_s: float | None = DEFAULT_TIMEOUT_S, failure_callback_url: str | None = None,
    ) -> None:
        self.client = client or AsyncQStash(
            token_from(token), retry=_retry(retry), base_url=base_url)
        self.failure_callback_url = failure_callback_url
        _set_timeout(self.client, timeout_s)

    async def publish(self, job: Job) -> str:
        """Publish; returns QStash's message id (SDK errors propagate)."""
        response = await self.client.message.publish(
            **publish_arguments(job, self.failure_callback_url))
        return str(response.message_id)  # type: ignore[union-attr]

    async def logs(self, message_id: str) -> list[Log]:
        """QStash's log entries of one message (SDK errors propagate)."""
        return (await self.client.log.list(filter={"message_id": message_id})).logs

    async def signing_keys(self) -> tuple[str, str]:
        keys = await self.client.signing_key.get()
        return keys.current, keys.next
