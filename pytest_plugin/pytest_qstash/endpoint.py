"""A recording HTTP destination server for tests that receive QStash deliveries."""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, NamedTuple, TypeAlias

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pytest_qstash.recorded import (
    Criteria,
    RecordedRequest,
    listing,
    near_misses,
    norm_path,
    to_bytes,
)
from pytest_qstash.serving import ServerThread
from pytest_qstash.signatures import check_signature

logger = logging.getLogger(__name__)

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


HandlerResult: TypeAlias = int | tuple[int, Mapping[str, str] | None, bytes | str]
Handler: TypeAlias = Callable[[RecordedRequest], HandlerResult | Awaitable[HandlerResult]]


class _Reply(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes


_DEFAULT_REPLY = _Reply(200, {}, b"ok")


@dataclass
class _StatusRule:
    """A status sequence whose last entry repeats once the sequence is used up."""

    statuses: list[int]
    body: bytes
    headers: dict[str, str]
    taken: int = field(default=0)

    def take(self) -> _Reply:
        status = self.statuses[min(self.taken, len(self.statuses) - 1)]
        self.taken += 1
        return _Reply(status, dict(self.headers), self.body)


_Responder: TypeAlias = _StatusRule | Handler


class Endpoint:
    """A real local HTTP server that records every request and answers by rules.

    Every path and method (GET, POST, PUT, PATCH, DELETE, OPTIONS; HEAD via GET)
    is accepted. Unless configured otherwise the answer is ``200 ok``.

    Example::

        with Endpoint() as endpoint:
            endpoint.respond_with([500, 200], path="/hook")
            publish(url=endpoint.url_for("/hook"), body="hi")
            endpoint.wait_for(2, path="/hook")
            endpoint.assert_delivered(body="hi", path="/hook", times=2)
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        signing_keys: tuple[str, str] | None = None,
    ) -> None:
        self.signing_keys = signing_keys
        self._cond = threading.Condition()
        self._requests: list[RecordedRequest] = []
        self._responders: dict[str | None, _Responder] = {}
        self._delays: dict[str | None, float] = {}
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=_METHODS)])
        self._server = ServerThread(app, host, port, lifespan="off")

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> Endpoint:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Endpoint:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Endpoint {self._server!r} requests={len(self._requests)}>"

    @property
    def host(self) -> str:
        return self._server.host

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        return self._server.url

    def url_for(self, path: str) -> str:
        return f"{self.url}/{path.lstrip('/')}"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._cond:
            return list(self._requests)

    # -- configuration -------------------------------------------------------------

    def respond_with(
        self,
        statuses: list[int] | int,
        *,
        path: str | None = None,
        body: bytes | str = b"",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer matching requests with ``statuses`` in turn; the last one then repeats."""
        sequence = [statuses] if isinstance(statuses, int) else list(statuses)
        if not sequence:
            raise ValueError("respond_with() needs at least one status")
        rule = _StatusRule(sequence, to_bytes(body), dict(headers or {}))
        with self._cond:
            self._responders[norm_path(path)] = rule

    def set_handler(self, func: Handler, path: str | None = None) -> None:
        """Answer with ``func(request)``: an int status or ``(status, headers, body)``."""
        with self._cond:
            self._responders[norm_path(path)] = func

    def delay(self, seconds: float, path: str | None = None) -> None:
        """Wait ``seconds`` before sending each answer (the request is recorded first)."""
        with self._cond:
            self._delays[norm_path(path)] = seconds

    def reset(self) -> None:
        """Forget recorded requests, answer rules, handlers and delays."""
        with self._cond:
            self._requests.clear()
            self._responders.clear()
            self._delays.clear()

    # -- waiting and asserting -----------------------------------------------------

    def wait_for(
        self, count: int, timeout: float = 5.0, *, path: str | None = None
    ) -> list[RecordedRequest]:
        """Block until at least ``count`` requests (to ``path``) arrived; return them."""
        wanted = norm_path(path)
        with self._cond:
            self._cond.wait_for(lambda: len(self._select(wanted)) >= count, timeout)
            matched = self._select(wanted)
            everything = list(self._requests)
        if len(matched) >= count:
            return matched
        target = f" to {wanted}" if wanted else ""
        raise AssertionError(
            f"expected at least {count} request(s){target} within {timeout:g}s, "
            f"got {len(matched)}; {listing(everything)}"
        )

    def assert_delivered(
        self,
        *,
        body: bytes | str | object | None = None,
        headers: dict[str, str] | None = None,
        path: str | None = None,
        method: str | None = None,
        times: int | None = 1,
        timeout: float = 0.0,
    ) -> list[RecordedRequest]:
        """Assert that ``times`` recorded requests (None: at least one) match every criterion.

        ``timeout`` optionally waits for enough matching requests to arrive first.
        """
        criteria = Criteria(body, headers, norm_path(path), method)
        needed = 1 if times is None else times
        with self._cond:
            self._cond.wait_for(lambda: len(criteria.select(self._requests)) >= needed, timeout)
            everything = list(self._requests)
        matched = criteria.select(everything)
        if (len(matched) >= 1) if times is None else (len(matched) == times):
            return matched
        expected = "at least 1" if times is None else f"exactly {times}"
        raise AssertionError(
            f"expected {expected} request(s) matching {criteria.describe()}, "
            f"found {len(matched)} among {len(everything)} recorded"
            f"{near_misses(criteria, everything)}"
        )

    # -- serving -------------------------------------------------------------------

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        draft = self._draft(request, body)
        with self._cond:
            responder = _lookup(self._responders, draft.path)
            pause = _lookup(self._delays, draft.path) or 0.0
            reply = responder.take() if isinstance(responder, _StatusRule) else None
        if reply is None:
            reply = await _call_handler(responder, draft)
        self._record(replace(draft, status=reply.status))
        if pause > 0:
            await asyncio.sleep(pause)
        return Response(reply.body, status_code=reply.status, headers=reply.headers)

    def _draft(self, request: Request, body: bytes) -> RecordedRequest:
        scope = request.scope
        path: str = scope["path"]
        raw_path = scope.get("raw_path") or path.encode()
        query = scope.get("query_string", b"").decode("latin-1")
        url = self.url + raw_path.decode("latin-1") + (f"?{query}" if query else "")
        headers = _header_dict(request.headers.raw)
        urls = [url]
        if raw_path in (b"", b"/"):  # a destination published without a path
            urls.append(self.url + (f"?{query}" if query else ""))
        valid, error = check_signature(self.signing_keys, headers, body, urls)
        return RecordedRequest(
            method=request.method,
            url=url,
            path=path,
            query=query,
            headers=headers,
            body=body,
            received_at=time.time(),
            signature_valid=valid,
            signature_error=error,
        )

    def _record(self, recorded: RecordedRequest) -> None:
        with self._cond:
            self._requests.append(recorded)
            self._cond.notify_all()

    def _select(self, path: str | None) -> list[RecordedRequest]:
        return [r for r in self._requests if path is None or r.path == path]


# -- answering -------------------------------------------------------------------------


async def _call_handler(func: Handler | None, draft: RecordedRequest) -> _Reply:
    """Run a user handler (sync ones in a worker thread); a failure answers 500."""
    if func is None:
        return _DEFAULT_REPLY
    try:
        if inspect.iscoroutinefunction(func):
            result = await func(draft)
        else:
            result = await run_in_threadpool(func, draft)
            if inspect.isawaitable(result):
                result = await result
        return _coerce_reply(result)
    except Exception as exc:
        logger.exception("Endpoint handler failed for %s %s", draft.method, draft.path)
        return _Reply(500, {}, f"handler error: {exc!r}".encode())


def _coerce_reply(result: Any) -> _Reply:
    if isinstance(result, int):
        return _Reply(result, {}, b"")
    status, headers, body = result
    return _Reply(int(status), dict(headers or {}), to_bytes(body))


def _lookup(rules: dict[str | None, Any], path: str) -> Any:
    """Return the rule for ``path``, falling back to the catch-all rule."""
    return rules[path] if path in rules else rules.get(None)


# -- small helpers ---------------------------------------------------------------------


def _header_dict(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in raw:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers
