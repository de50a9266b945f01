"""Request parsing shared by the API modules."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..core import protocol as p
from ..core.errors import BadRequest, PayloadTooLarge
from ..core.headers import split_query
from ..core.model import Tenant
from .asgi import EmulatorApp

if TYPE_CHECKING:
    from ..core.service import Service
    from ..emulator import Emulator

T = TypeVar("T")
URL_SCHEMES = ("http://", "https://")
TENANT_KEY = "qstash_emulator.tenant"  # where the guard leaves the tenant it resolved


class FastJSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except TypeError:  # what orjson refuses (non-string keys, huge ints) json still writes
            return json.dumps(content, separators=(",", ":"), allow_nan=False).encode()


class PlainASGI:
    """An ASGI function as a route's endpoint (Starlette wraps plain functions in a
    request/response adapter; an object that is not a function it calls as it is)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


async def answer_json(send: Send, status: int, content: Any, headers: Mapping[str, str]) -> None:
    """Send `content` as compact JSON with `headers`: what FastJSON does, without the object."""
    body = orjson.dumps(content)
    raw = [(b"content-length", str(len(body)).encode()),
           (b"content-type", b"application/json")]
    raw += [(name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def emulator_of(request: Request) -> Emulator:
    """The emulator serving `request` (read from the app itself where it can be: Starlette's
    `state` answers through a Python `__getattr__`, and a publish asks three times)."""
    app = request.scope["app"]
    if isinstance(app, EmulatorApp) and app.emulator is not None:
        return app.emulator
    return request.app.state.emulator  # type: ignore[no-any-return]


def service_of(request: Request) -> Service:
    return emulator_of(request).service


def token_of(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return request.query_params.get("qstash_token")


def tenant_of(request: Request) -> Tenant:
    resolved: Tenant | None = request.scope.get(TENANT_KEY)  # the guard's look-up, if any
    if resolved is not None:
        return resolved
    return service_of(request).authenticate(token_of(request))


def control_scope(request: Request) -> str | None:
    """The tenant a control call acts on, or None for every tenant (`?all=true`, admin only)."""
    all_tenants = request.query_params.get("all", "").lower() == "true"
    return service_of(request).control_scope(token_of(request), all_tenants)


def raw_destination(request: Request, segments: int) -> str:
    """The destination as the client sent it, byte for byte: the raw path after its first
    `segments` parts (`/v2/publish/` is 3), so `report%202024.pdf` and `a%2Fb` stay encoded.
    A destination sent encoded as one segment (`https%3A%2F%2Fhost%2Fx`) is decoded once."""
    decoded = str(request.path_params["destination"])
    raw_path: bytes = request.scope.get("raw_path") or b""
    parts = raw_path.split(b"/", segments)
    if len(parts) <= segments:
        return decoded
    try:
        raw = parts[segments].decode()
    except UnicodeDecodeError:
        raw = parts[segments].decode("latin-1")
    return raw if raw.lower().startswith(URL_SCHEMES) else decoded


def lowered_headers(request: Request) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in request.scope["headers"]:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def publish_config(request: Request) -> tuple[dict[str, str], str]:
    """Headers (query-string config merged in, headers win) and the destination's own query."""
    config, destination_query = split_query(request.scope["query_string"].decode("latin-1"))
    return config | lowered_headers(request), destination_query


async def read_body(request: Request) -> bytes:
    """The body, read as it arrives and refused (413, connection closed) as soon as it passes
    `--max-body-bytes`: a declared length above it is refused before a byte is read, and a
    chunked body is never held beyond the limit."""
    read: bytes | None = getattr(request, "_body", None)
    if read is not None:
        return read
    limit = emulator_of(request).settings.max_body_bytes
    declared = _declared_length(request.scope["headers"])
    if declared is not None and declared > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:  # the ASGI messages themselves: most bodies arrive in one
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        more = message.get("more_body", False)
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    request._body = body  # later reads (request.body(), .json()) see the same bytes
    return body


def _declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _too_large(limit: int) -> PayloadTooLarge:
    """A 413 that also closes the connection: the rest of the body is never read."""
    return PayloadTooLarge(p.BODY_TOO_LARGE.format(limit=limit), {"Connection": "close"})


async def read_json(request: Request) -> Any:
    raw = await read_body(request)
    if not raw.strip():
        return None
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise BadRequest(f"invalid JSON body: {exc}") from exc


def _refuse_constant(name: str) -> Any:
    """`NaN`, `Infinity` and `-Infinity` are not JSON, though Python's parser takes them."""
    raise BadRequest(p.JSON_CONSTANT.format(name=name))


def multi_params(request: Request) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        params.setdefault(name, []).append(value)
    return params


def caller_ip(request: Request) -> str | None:
    return request.client.host if request.client else None
