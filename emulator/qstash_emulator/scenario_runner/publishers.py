"""How a scenario publishes: the official SDK directly, or the application's `RequestQueue`."""

from __future__ import annotations

import asyncio
import importlib
import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .features import FeatureMissing
from .metrics import ACCEPTED, ERROR, FALLBACK, REJECTED_429
from .model import Publish

if TYPE_CHECKING:
    from qstash.http import RetryConfig

QUEUE_RETRY: RetryConfig = {"retries": 1, "backoff": lambda attempt: 100.0}
"""What the queue's own client retries (once, after 100 ms, on transport errors only)."""


@dataclass(frozen=True)
class Outcome:
    outcome: str
    message_id: str | None = None
    backend: str | None = None
    error: str | None = None


class TooManyCounter:
    """Counts QStash's 429 answers as an httpx response hook: a queue that falls back hides
    them from its caller, so outcomes alone cannot tell how often QStash refused."""

    def __init__(self) -> None:
        self.count = 0

    async def __call__(self, response: Any) -> None:
        if response.status_code == 429:
            self.count += 1

    def watch(self, client: Any) -> Any:
        """`client` (an `AsyncQStash`) with this counter on its HTTP client."""
        http: Any = getattr(getattr(client, "http", None), "_client", None)
        hooks = getattr(http, "event_hooks", None)
        if hooks is not None:
            http.event_hooks = {**hooks, "response": [*hooks.get("response", []), self]}
        return client

    def stats(self) -> dict[str, Any]:
        return {"qstash_429_answers": self.count}


class Publisher(Protocol):
    async def publish(self, seq: int, url: str, delay_s: int) -> Outcome: ...

    async def stats(self) -> dict[str, Any]: ...

    async def close(self) -> None: ...


class SdkPublisher:
    """`qstash.AsyncQStash.message.publish_json`, exactly as an application would call it."""

    def __init__(self, settings: Publish, url: str, token: str) -> None:
        from qstash import AsyncQStash

        self._settings = settings
        self._too_many = TooManyCounter()
        self._client = self._too_many.watch(AsyncQStash(token, base_url=url, retry=False))

    async def publish(self, seq: int, url: str, delay_s: int) -> Outcome:
        from qstash.errors import DailyMessageLimitExceededError, RateLimitExceededError

        options: dict[str, Any] = {}
        if self._settings.retries is not None:
            options["retries"] = self._settings.retries
        if delay_s:
            options["delay"] = f"{delay_s}s"
        if self._settings.flow_control:
            options["flow_control"] = _flow_control(self._settings.flow_control)
        try:
            result = await self._client.message.publish_json(url=url, body={"seq": seq},
                                                             **options)
        except (RateLimitExceededError, DailyMessageLimitExceededError) as exc:
            return Outcome(REJECTED_429, error=str(exc))
        except Exception as exc:
            return Outcome(ERROR, error=f"{type(exc).__name__}: {exc}")
        return Outcome(ACCEPTED, getattr(result, "message_id", None), "qstash")

    async def stats(self) -> dict[str, Any]:
        return self._too_many.stats()

    async def close(self) -> None:
        http = getattr(self._client, "http", None)
        client = getattr(http, "_client", None)
        if client is not None and hasattr(client, "aclose"):
            await client.aclose()


class QueuePublisher:
    """`qstash_queue.AsyncRequestQueue` (or `RequestQueue` in a thread), with its fallback."""

    def __init__(self, settings: Publish, url: str, token: str) -> None:
        module = _queue_module()
        options = {"use_qstash": True, "qstash_token": token, "base_url": url,
                   **settings.queue_options}
        cls = getattr(module, "AsyncRequestQueue", None)
        self._async = cls is not None
        self._too_many = TooManyCounter()
        if self._async and "qstash_client" not in options:
            from qstash import AsyncQStash

            retry = options.pop("qstash_retry", None) or QUEUE_RETRY
            options["qstash_client"] = self._too_many.watch(
                AsyncQStash(token, base_url=url, retry=retry))
        self._queue = (cls or module.RequestQueue)(**options)

    async def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        method = getattr(self._queue, name)
        if self._async:
            result = method(*args, **kwargs)
        else:
            result = await asyncio.to_thread(method, *args, **kwargs)
        return await result if inspect.isawaitable(result) else result

    async def publish(self, seq: int, url: str, delay_s: int) -> Outcome:
        try:
            job = await self._call("enqueue", f"job-{seq}", endpoint=url, payload={"seq": seq},
                                   delay=delay_s or None)
        except Exception as exc:
            name = type(exc).__name__
            limited = name in ("RateLimitExceededError", "DailyMessageLimitExceededError")
            return Outcome(REJECTED_429 if limited else ERROR, error=f"{name}: {exc}")
        backend = getattr(job, "backend", None)
        outcome = ACCEPTED if backend == "qstash" else FALLBACK
        return Outcome(outcome, getattr(job, "message_id", None), backend)

    async def stats(self) -> dict[str, Any]:
        counted = self._too_many.stats() if self._async else {}
        return dict(await self._call("stats")) | counted

    async def close(self) -> None:
        await self._call("close")


def _queue_module() -> Any:
    try:
        module = importlib.import_module("qstash_queue")
    except ImportError as exc:
        raise FeatureMissing(f"qstash_queue is not importable ({exc}; issue 6)") from None
    if not hasattr(module, "RequestQueue"):
        raise FeatureMissing("qstash_queue.RequestQueue is not importable (issue 6)")
    return module


def require_publisher(settings: Publish) -> None:
    """Raise `FeatureMissing` before anything starts if the publishing path is unavailable."""
    if settings.via == "request_queue":
        _queue_module()


def make_publisher(settings: Publish, url: str, token: str) -> Publisher:
    if settings.via == "request_queue":
        return QueuePublisher(settings, url, token)
    return SdkPublisher(settings, url, token)


def _flow_control(spec: dict[str, str] | Any) -> dict[str, Any]:
    """`{key, value = "rate=10,period=1s"}` -> the SDK's FlowControl dict."""
    control: dict[str, Any] = {"key": spec["key"]}
    for item in spec.get("value", "").split(","):
        name, _, raw = (part.strip() for part in item.partition("="))
        if name in ("parallelism", "rate"):
            control[name] = int(raw)
        elif name == "period":
            control[name] = raw
    return control
