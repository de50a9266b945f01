"""The QStash outage switch: which API requests fail, and how (decisions only, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from ..errors import BadRequest

API_PREFIX = "/v2/"


class OutageMode(StrEnum):
    ERROR = "error"
    TIMEOUT = "timeout"
    RESET = "reset"


@dataclass(frozen=True, slots=True)
class Outage:
    """One outage: `mode`, its status or hold time, the paths hit and how many requests left."""

    mode: OutageMode
    tenant: str | None = None
    status: int = 503
    seconds: float = 30.0
    count: int | None = None
    paths: tuple[str, ...] = (API_PREFIX,)

    def covers(self, tenant: str | None, path: str) -> bool:
        if self.tenant is not None and tenant != self.tenant:
            return False
        return any(path.startswith(prefix) for prefix in self.paths)


def parse_outage(body: object, tenant: str | None) -> Outage:
    """Validate `{"mode": ..., "status"|"seconds", "count", "paths"}` (400 on anything else)."""
    if not isinstance(body, Mapping):
        raise BadRequest('invalid body: want {"mode": "error" | "timeout" | "reset", ...}')
    unknown = set(body) - {"mode", "status", "seconds", "count", "paths"}
    if unknown:
        raise BadRequest(f"unknown outage field(s) {sorted(unknown)}")
    try:
        mode = OutageMode(str(body.get("mode")))
    except ValueError:
        raise BadRequest('mode must be "error", "timeout" or "reset"') from None
    outage = Outage(mode, tenant, paths=_paths(body.get("paths")), count=_count(body))
    if mode is OutageMode.ERROR:
        outage = replace(outage, status=_status(body.get("status", 503)))
    if mode is OutageMode.TIMEOUT:
        outage = replace(outage, seconds=_seconds(body.get("seconds")))
    return outage


def _status(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 400 <= value <= 599:
        raise BadRequest("status must be an HTTP error status (400..599)")
    return value


def _seconds(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise BadRequest("seconds must be a positive number")
    return float(value)


def _count(body: Mapping[str, object]) -> int | None:
    value = body.get("count")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadRequest("count must be a positive integer")
    return value


def _paths(value: object) -> tuple[str, ...]:
    if value is None:
        return (API_PREFIX,)
    if not isinstance(value, list) or not value or not all(
        isinstance(item, str) and item.startswith("/") for item in value
    ):
        raise BadRequest('paths must be a non-empty list of path prefixes such as "/v2/publish"')
    return tuple(value)


class Outages:
    """The outages in force: at most one per tenant, plus one for every tenant (key None)."""

    def __init__(self) -> None:
        self._active: dict[str | None, Outage] = {}

    def start(self, outage: Outage) -> None:
        self._active[outage.tenant] = outage

    def end(self, tenant: str | None, *, everywhere: bool = False) -> int:
        """End the tenant's outage (every outage with `everywhere`); returns how many ended."""
        if everywhere:
            ended = len(self._active)
            self._active.clear()
            return ended
        return 1 if self._active.pop(tenant, None) is not None else 0

    def active(self) -> list[Outage]:
        return list(self._active.values())

    def take(self, tenant: str | None, path: str) -> Outage | None:
        """The outage hitting this request, if any (uses up one of its `count`)."""
        if not self._active or path.startswith("/__emulator__/"):
            return None
        for key in (tenant, None):
            outage = self._active.get(key)
            if outage is None or not outage.covers(tenant, path):
                continue
            if outage.count is not None:
                left = outage.count - 1
                if left <= 0:
                    del self._active[key]
                else:
                    self._active[key] = replace(outage, count=left)
            return outage
        return None
