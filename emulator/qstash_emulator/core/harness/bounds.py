"""The one validator of the numbers a control-API body may carry, and their documented ranges.

Every number a caller can set (clock moves, fault effects, outage lengths and counts, quota
limits) passes `number` or `integer`: a JSON number (never a boolean), finite, within its
range; anything else is a 400 naming the field and the range. The ranges keep every later
computation in bounds (dates stay before `MAX_CLOCK_MS`, waits stay finite, counters fit in
64 bits), so no value a request can store makes later requests fail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..durations import MAX_TIME_MS
from ..errors import BadRequest

MAX_CLOCK_MS = MAX_TIME_MS
"""A virtual clock never moves past 2200-01-01T00:00:00Z."""
MAX_INT64 = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Range:
    """An inclusive range of accepted values and its unit, as the docs and errors name it."""

    low: float
    high: float
    unit: str = ""

    def describe(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"from {_shown(self.low)} to {_shown(self.high)}{unit}"


CLOCK_ADVANCE_S = Range(0, (MAX_CLOCK_MS // 1000), "seconds")
LATENCY_MS = Range(0, 3_600_000, "ms")
DUPLICATE_AFTER_S = Range(0, 30 * 86_400, "seconds")
PROBABILITY = Range(0, 1)
SEED = Range(-MAX_INT64, MAX_INT64)
OUTAGE_SECONDS = Range(0.001, 3_600, "seconds")
OUTAGE_COUNT = Range(1, 1_000_000_000)
QUOTA_LIMIT = Range(0, 1_000_000_000_000)


def number(value: object, name: str, allowed: Range) -> float:
    """`value` as a finite float within `allowed` (400 otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"{name} must be a number {allowed.describe()}")
    if isinstance(value, float) and not math.isfinite(value):
        raise BadRequest(f"{name} must be a finite number {allowed.describe()}")
    if not allowed.low <= value <= allowed.high:
        raise BadRequest(f"{name} must be {allowed.describe()}, not {_shown(value)}")
    return float(value)


def integer(value: object, name: str, allowed: Range) -> int:
    """`value` as an int within `allowed` (400 for a float, a boolean or out of range)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{name} must be an integer {allowed.describe()}")
    if not allowed.low <= value <= allowed.high:
        raise BadRequest(f"{name} must be an integer {allowed.describe()}, not {_shown(value)}")
    return value


def _shown(value: float) -> str:
    if isinstance(value, int) and abs(value) >= 10**15:
        return f"{value:.3g}"
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"
