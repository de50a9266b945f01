"""The single table from domain errors to HTTP statuses, and the JSON error handlers."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..core import protocol as p
from ..core.errors import EmulatorError
from ..failures import report

REPORTED = "qstash_emulator.reported"
"""Set in a request's scope once its failure was logged (so it is never logged twice)."""
STATUS_BY_CODE = {
    "bad_request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "payload_too_large": 413,
    "precondition_failed": 412,
    "quota_exceeded": 429,
    "burst_limited": 429,
    "internal": 500,
    "unavailable": 503,
}


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def on_emulator_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, EmulatorError)
    return error_response(STATUS_BY_CODE[exc.code], exc.message, dict(exc.headers))


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    texts = {404: p.NOT_FOUND, 405: p.METHOD_NOT_ALLOWED}
    message = texts.get(exc.status_code, str(exc.detail))
    return error_response(exc.status_code, message, dict(exc.headers or {}))


async def on_unexpected_error(request: Request, exc: Exception) -> Response:
    """Anything else (e.g. the store unreachable) still answers in QStash's error format, and
    is logged once (with its traceback only if it is a bug). A domain error raised outside a
    route (the store unavailable in the guard) keeps its status."""
    if isinstance(exc, EmulatorError):
        return await on_emulator_error(request, exc)
    report(f"{request.method} {request.url.path} failed", exc)
    request.scope[REPORTED] = True
    return error_response(500, f"internal error: {type(exc).__name__}: {exc}")


HANDLERS = {
    EmulatorError: on_emulator_error,
    HTTPException: on_http_error,
    Exception: on_unexpected_error,
}
