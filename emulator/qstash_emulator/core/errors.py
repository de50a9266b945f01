"""Domain errors. Each has a stable code; the HTTP layer maps codes to statuses."""

from __future__ import annotations

from collections.abc import Mapping


class EmulatorError(Exception):
    """Base class of every error the service reports to a caller."""

    code = "internal"

    def __init__(self, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers: Mapping[str, str] = headers or {}


class BadRequest(EmulatorError):
    code = "bad_request"


class Unauthorized(EmulatorError):
    code = "unauthorized"


class Forbidden(EmulatorError):
    code = "forbidden"


class NotFound(EmulatorError):
    code = "not_found"


class PayloadTooLarge(EmulatorError):
    code = "payload_too_large"


class PreconditionFailed(EmulatorError):
    code = "precondition_failed"


class QuotaExceeded(EmulatorError):
    code = "quota_exceeded"


class BurstLimited(EmulatorError):
    code = "burst_limited"


class StoreUnavailable(EmulatorError):
    """The store did not answer in time (or is known to be down); nothing was stored."""

    code = "unavailable"
