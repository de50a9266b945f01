"""Duration parsing: QStash header durations and Go-style rate-limit durations."""

from __future__ import annotations

import re
from functools import lru_cache

MAX_TIME_MS = 7_258_118_400_000
"""2200-01-01T00:00:00Z: no clock and no due time goes past it (dates stay printable)."""

_QSTASH_UNITS = (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))
_QSTASH_PATTERN = re.compile(
    r"(?:(?P<d>[0-9]+)d)?(?:(?P<h>[0-9]+)h)?(?:(?P<m>[0-9]+)m)?(?:(?P<s>[0-9]+)s)?",
    re.IGNORECASE,
)
_BARE_SECONDS = re.compile(r"[0-9]+")

_GO_UNITS: dict[str, float] = {
    "ns": 1e-9,
    "us": 1e-6,
    "\u00b5s": 1e-6,  # micro sign
    "\u03bcs": 1e-6,  # greek small letter mu
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3_600.0,
}
_GO_GROUP = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")


class InvalidDuration(ValueError):
    pass


@lru_cache(maxsize=512)  # a handful of distinct delays and timeouts across many messages
def parse_duration_s(text: str) -> int:
    """Parse a QStash duration (`10s`, `2m`, `1d10h30m`, bare seconds) into whole seconds."""
    value = text.strip()
    if _BARE_SECONDS.fullmatch(value):
        return int(value)
    match = _QSTASH_PATTERN.fullmatch(value)
    if not value or match is None:
        raise InvalidDuration(
            f"invalid duration {text!r}: want e.g. '10s', '2m', '1h30m', '1d' or whole seconds"
        )
    return sum(int(match[unit] or 0) * factor for unit, factor in _QSTASH_UNITS)


def parse_go_duration_s(text: str) -> float:
    """Parse a Go-style duration (`6m5s`, `1.5h`, `300ms`, `2us`) into seconds."""
    value = text.strip()
    if value == "0":
        return 0.0
    total = 0.0
    position = 0
    while position < len(value):
        match = _GO_GROUP.match(value, position)
        if match is None:
            break
        total += float(match[1]) * _GO_UNITS[match[2]]
        position = match.end()
    if not value or position != len(value):
        raise InvalidDuration(f"invalid duration {text!r}: want e.g. '6m5s', '1.5h' or '300ms'")
    return total
