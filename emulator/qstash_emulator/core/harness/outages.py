"""The QStash outage switch: which API requests fail, and how."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from ..errors import BadRequest
from ..ports import HarnessStore, IdSource
from . import bounds
from .model import API_PREFIX, Outage, OutageMode
from .view import HarnessView

CONTROL_PREFIX = "/__emulator__/"


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
    return bounds.number(value, "seconds", bounds.OUTAGE_SECONDS)


def _count(body: Mapping[str, object]) -> int | None:
    value = body.get("count")
    return None if value is None else bounds.integer(value, "count", bounds.OUTAGE_COUNT)


def _paths(value: object) -> tuple[str, ...]:
    if value is None:
        return (API_PREFIX,)
    if not isinstance(value, list) or not value or not all(
        isinstance(item, str) and item.startswith("/") for item in value
    ):
        raise BadRequest('paths must be a non-empty list of path prefixes such as "/v2/publish"')
    return tuple(value)


class Outages:
    """The outages in force: at most one per tenant, plus one for every tenant (tenant None).
    They are kept in the store, so every instance sharing it fails the same requests, and a
    `count` is used up by all of them together."""

    def __init__(self, store: HarnessStore, view: HarnessView, ids: IdSource) -> None:
        self._store = store
        self._view = view
        self._ids = ids

    def start(self, outage: Outage) -> Outage:
        started = replace(outage, outage_id=self._ids.new_id("outage"))
        self._store.start_outage(started)
        self._view.changed()
        return started

    def end(self, tenant: str | None, *, everywhere: bool = False) -> int:
        """End the tenant's outage (every outage with `everywhere`); returns how many ended."""
        self._view.changed()
        if everywhere:
            return self._store.end_all_outages()
        return int(self._store.end_outage(tenant))

    def active(self) -> list[Outage]:
        """Every outage in force, each with the requests it has left as its `count`."""
        return list(self._view.refresh().outages)

    def take(self, tenant: str | None, path: str) -> Outage | None:
        """The outage hitting this request, if any (uses up one of its `count`)."""
        outages = self._view.current().outages
        if not outages or path.startswith(CONTROL_PREFIX):
            return None
        for scope in (tenant, None):
            outage = next((o for o in outages if o.tenant == scope), None)
            if outage is None or not outage.covers(tenant, path):
                continue
            if outage.count is None:
                return outage
            self._view.changed()
            if self._store.take_outage(outage) is not None:
                return outage
        return None
