"""Cron expressions as QStash reads them: five fields, UTC unless prefixed `CRON_TZ=<zone> `.

Parsing and iteration are croniter's; this module only adds the zone prefix and the checks.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

from .. import protocol as p
from ..errors import BadRequest

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_LOCK = threading.Lock()  # cached iterators are shared by every emulator in the process


@dataclass(frozen=True, slots=True)
class Cron:
    """A validated cron expression and the zone it is evaluated in."""

    source: str
    fields: str
    zone: str | None = None

    def next_after_ms(self, after_ms: int) -> int:
        """The first trigger time strictly after `after_ms` (unix ms)."""
        tz = ZoneInfo(self.zone) if self.zone else UTC
        start = datetime.fromtimestamp(after_ms / 1000, tz=tz)
        iterator = _iterator(self.fields)
        try:
            with _LOCK:
                iterator.set_current(start, force=True)
                following = iterator.get_next(datetime)
        except CroniterBadDateError as exc:
            raise BadRequest(p.CRON_INVALID.format(cron=self.source, reason="never fires")
                             ) from exc
        return int(following.timestamp() * 1000)


def parse_cron(raw: str | None) -> Cron:
    """Validate an `Upstash-Cron` value; raises BadRequest."""
    if raw is None or not raw.strip():
        raise BadRequest(p.CRON_MISSING)
    return _parse(raw.strip())


@lru_cache(maxsize=1024)
def _iterator(fields: str) -> croniter:
    """One reusable iterator per expression (expanding the fields is the costly part)."""
    return croniter(fields, EPOCH)


@lru_cache(maxsize=1024)
def _parse(source: str) -> Cron:
    zone, fields = _split_zone(source)
    if len(fields.split()) != 5:
        raise BadRequest(p.CRON_INVALID.format(cron=source, reason="want 5 fields"))
    if not croniter.is_valid(fields):
        raise BadRequest(p.CRON_INVALID.format(cron=source, reason="not a valid expression"))
    return Cron(source, " ".join(fields.split()), zone)


def _split_zone(source: str) -> tuple[str | None, str]:
    if not source.startswith(p.CRON_TZ_PREFIX):
        return None, source
    zone, _, fields = source[len(p.CRON_TZ_PREFIX):].partition(" ")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadRequest(p.CRON_INVALID.format(cron=source, reason=f"unknown zone {zone!r}")
                         ) from exc
    return zone, fields
