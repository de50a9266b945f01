"""A recording HTTP destination server for tests that receive QStash deliveries."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import inspect
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, NamedTuple, TypeAlias

import jwt
from qstash.errors import SignatureError
from qstash.receiver import verify_with_key
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pytest_qstash.serving import ServerThread

logger = logging.getLogger(__name__)

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_MAX_LISTED = 20
_MAX_REPR = 120


@dataclass(frozen=True)
class RecordedRequest:
    """One request received by an :class:`Endpoint`.

    Header names are stored lower-cased; repeated headers are joined with ``", "``.

    Example::

        req = endpoint.wait_for(1)[0]
        assert req.header("Content-Type") == "application/json"
        assert req.json() == {"hello": "world"}
    """

    method: str
    url: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    received_at: float
    status: int = 0
    signature_valid: bool | None = None
    signature_error: str | None = None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


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
        rule = _StatusRule(sequence, _to_bytes(body), dict(headers or {}))
        with self._cond:
            self._responders[_norm_path(path)] = rule

    def set_handler(self, func: Handler, path: str | None = None) -> None:
        """Answer with ``func(request)``: an int status or ``(status, headers, body)``."""
        with self._cond:
            self._responders[_norm_path(path)] = func

    def delay(self, seconds: float, path: str | None = None) -> None:
        """Wait ``seconds`` before sending each answer (the request is recorded first)."""
        with self._cond:
            self._delays[_norm_path(path)] = seconds

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
        wanted = _norm_path(path)
        with self._cond:
            self._cond.wait_for(lambda: len(self._select(wanted)) >= count, timeout)
            matched = self._select(wanted)
            everything = list(self._requests)
        if len(matched) >= count:
            return matched
        target = f" to {wanted}" if wanted else ""
        raise AssertionError(
            f"expected at least {count} request(s){target} within {timeout:g}s, "
            f"got {len(matched)}; {_listing(everything)}"
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
        criteria = _Criteria(body, headers, _norm_path(path), method)
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
            f"{_near_misses(criteria, everything)}"
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
        valid, error = _check_signature(self.signing_keys, headers, body, urls)
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
    return _Reply(int(status), dict(headers or {}), _to_bytes(body))


def _lookup(rules: dict[str | None, Any], path: str) -> Any:
    """Return the rule for ``path``, falling back to the catch-all rule."""
    return rules[path] if path in rules else rules.get(None)


# -- signatures ------------------------------------------------------------------------


def _check_signature(
    keys: tuple[str, str] | None, headers: dict[str, str], body: bytes, urls: list[str]
) -> tuple[bool | None, str | None]:
    """Verify like `qstash.Receiver` (current key, then next); report the current key's error."""
    signature = headers.get("upstash-signature")
    if keys is None or signature is None:
        return None, None
    errors: list[str] = []
    for url in urls:
        for key in keys:
            try:
                _verify(key, signature, body, url)
            except Exception as exc:
                errors.append(str(exc) or type(exc).__name__)
            else:
                return True, None
    return False, errors[0]


def _verify(key: str, signature: str, body: bytes, url: str) -> None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        _verify_binary((key,), signature, body, url)
        return
    verify_with_key(key, signature=signature, body=text, url=url)


def _verify_binary(keys: tuple[str, ...], signature: str, body: bytes, url: str) -> None:
    """Mirror ``qstash.Receiver`` for bodies that are not UTF-8 (it needs ``str``)."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(body).digest()).decode().rstrip("=")
    error = "no signing key"
    for key in keys:
        try:
            claims = jwt.decode(
                signature,
                key,
                algorithms=["HS256"],
                issuer="Upstash",
                options={"require": ["iss", "sub", "exp", "nbf"]},
            )
        except jwt.PyJWTError as exc:
            error = f"Error while decoding signature: {exc}"
            continue
        if claims["sub"] != url:
            error = f"Invalid subject: {claims['sub']}, want: {url}"
        elif str(claims.get("body", "")).rstrip("=") != digest:
            error = f"Invalid body hash: {claims.get('body')}, want: {digest}"
        else:
            return
    raise SignatureError(error)


# -- matching and reporting ------------------------------------------------------------


@dataclass(frozen=True)
class _Criteria:
    body: object | None
    headers: dict[str, str] | None
    path: str | None
    method: str | None

    def select(self, requests: list[RecordedRequest]) -> list[RecordedRequest]:
        return [r for r in requests if not self.mismatches(r)]

    def mismatches(self, req: RecordedRequest) -> list[str]:
        problems: list[str] = []
        if self.method is not None and req.method != self.method.upper():
            problems.append(f"method: got {req.method} want {self.method.upper()}")
        if self.path is not None and req.path != self.path:
            problems.append(f"path: got {req.path!r} want {self.path!r}")
        if self.body is not None:
            problems.extend(_body_mismatch(req.body, self.body))
        for name, want in (self.headers or {}).items():
            got = req.header(name)
            if got != want:
                problems.append(f"header {name.lower()}: got {_short(got)} want {_short(want)}")
        return problems

    def describe(self) -> str:
        parts = [
            f"{label}={_short(value)}"
            for label, value in (
                ("method", self.method),
                ("path", self.path),
                ("headers", self.headers),
                ("body", self.body),
            )
            if value is not None
        ]
        return "{" + ", ".join(parts) + "}" if parts else "{any}"


def _body_mismatch(got: bytes, want: object) -> list[str]:
    if isinstance(want, bytes | str):
        expected = _to_bytes(want)
        if got == expected:
            return []
        return [f"body differs: got {_short(got)} want {_short(expected)}"]
    try:
        parsed = json.loads(got)
    except ValueError:
        return [f"body is not JSON: got {_short(got)}"]
    if parsed == want:
        return []
    return [f"JSON body differs: got {_short(parsed)} want {_short(want)}"]


def _near_misses(criteria: _Criteria, requests: list[RecordedRequest]) -> str:
    if not requests:
        return ""
    lines = []
    for req in requests[:_MAX_LISTED]:
        problems = criteria.mismatches(req)
        lines.append(f"  {_label(req)}: {' ; '.join(problems) if problems else 'matches'}")
    if len(requests) > _MAX_LISTED:
        lines.append(f"  ... and {len(requests) - _MAX_LISTED} more")
    return ":\n" + "\n".join(lines)


def _listing(requests: list[RecordedRequest]) -> str:
    if not requests:
        return "no requests were recorded"
    lines = [f"  {_label(r)} -> {r.status} body={_short(r.body)}" for r in requests[:_MAX_LISTED]]
    if len(requests) > _MAX_LISTED:
        lines.append(f"  ... and {len(requests) - _MAX_LISTED} more")
    return "recorded:\n" + "\n".join(lines)


def _label(req: RecordedRequest) -> str:
    return f"{req.method} {req.path}" + (f"?{req.query}" if req.query else "")


def _short(value: object) -> str:
    text = repr(value)
    if len(text) <= _MAX_REPR:
        return text
    return f"{text[:_MAX_REPR]}... ({len(text)} chars)"


# -- small helpers ---------------------------------------------------------------------


def _header_dict(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in raw:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


def _norm_path(path: str | None) -> str | None:
    if path is None:
        return None
    return path if path.startswith("/") else f"/{path}"


def _to_bytes(value: bytes | str) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)
