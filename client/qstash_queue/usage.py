"""The usage monitor: QStash publishes per UTC day and month against the plan's limits.

Every message QStash accepts is counted in the status store (so every process sharing a Redis
store counts into the same windows), by the UTC day and month of the queue's clock. Limits are
the ones given in `UsageOptions`, else the ones QStash announced in its last quota refusal
(`DailyMessageLimitExceededError.limit`; a reset later than the next UTC midnight marks the
monthly window), remembered in the store. Crossing a threshold (80 % and 95 % by default)
raises one alert per window and period, whichever process crosses it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .alerts import Alert, AlertEvent, AlertSink
from .clock import Clock
from .status import UsageStore

DAILY, MONTHLY = "daily", "monthly"
_COUNT_TTL_S = {DAILY: 2 * 86400, MONTHLY: 33 * 86400}
_LIMIT_TTL_S = 31 * 86400


@dataclass(frozen=True)
class UsageOptions:
    """The plan's limits (None: learn them from QStash's quota refusals) and alert thresholds
    (fractions of a limit)."""

    daily_limit: int | None = None
    monthly_limit: int | None = None
    thresholds: tuple[float, ...] = (0.8, 0.95)


@dataclass(frozen=True)
class Usage:
    """Publishes counted in the current UTC day and month, and the limits they are held to."""

    day: str
    daily_used: int
    daily_limit: int | None
    month: str
    monthly_used: int
    monthly_limit: int | None

    def to_json(self) -> dict[str, Any]:
        return {"day": self.day, "daily_used": self.daily_used, "daily_limit": self.daily_limit,
                "month": self.month, "monthly_used": self.monthly_used,
                "monthly_limit": self.monthly_limit}


def _periods(now_s: float) -> dict[str, str]:
    moment = datetime.fromtimestamp(now_s, UTC)
    return {DAILY: moment.strftime("%Y-%m-%d"), MONTHLY: moment.strftime("%Y-%m")}


def _next_midnight_s(now_s: float) -> float:
    day = datetime.fromtimestamp(now_s, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (day + timedelta(days=1)).timestamp()


def _number(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class UsageMonitor:
    """Counts publishes, compares them with the limits and raises threshold alerts."""

    def __init__(
        self, store: UsageStore, options: UsageOptions, clock: Clock, sink: AlertSink,
    ) -> None:
        self.store, self.options, self.clock, self.sink = store, options, clock, sink
        self.last: Usage | None = None

    def record_publish(self) -> Usage:
        """Count one message QStash accepted; alert on thresholds crossed by it."""
        periods = _periods(self.clock())
        ttls = {f"count:{window}:{period}": _COUNT_TTL_S[window]
                for window, period in periods.items()}
        daily, monthly = self.store.increment(ttls)
        usage = self._usage(periods, daily, monthly)
        for window, used, limit in self._windows(usage):
            self._check(window, periods[window], used, limit)
        return usage

    def learn_limit(self, limit: Any, reset: Any) -> None:
        """Remember a limit QStash announced in a quota refusal (its window from `reset`)."""
        value = _number(limit)
        if value is None:
            return
        reset_s = _number(reset)
        monthly = reset_s is not None and reset_s > _next_midnight_s(self.clock()) + 3600
        self.store.put(f"limit:{MONTHLY if monthly else DAILY}", value, _LIMIT_TTL_S)

    def usage(self) -> Usage:
        """The current day's and month's counts and limits (reads the store)."""
        periods = _periods(self.clock())
        daily, monthly = self.store.read(
            [f"count:{window}:{period}" for window, period in periods.items()])
        return self._usage(periods, daily or 0, monthly or 0)

    def stats(self) -> dict[str, Any]:
        """The counts last seen by this process (no store round trip)."""
        if self.last is None:
            return {}
        return {f"usage_{name}": value for name, value in self.last.to_json().items()}

    def _usage(self, periods: dict[str, str], daily: int, monthly: int) -> Usage:
        daily_limit, monthly_limit = self._limits()
        self.last = Usage(periods[DAILY], daily, daily_limit, periods[MONTHLY], monthly,
                          monthly_limit)
        return self.last

    def _limits(self) -> tuple[int | None, int | None]:
        given = (self.options.daily_limit, self.options.monthly_limit)
        if None not in given:
            return given
        learned = self.store.read([f"limit:{DAILY}", f"limit:{MONTHLY}"])
        return (given[0] if given[0] is not None else learned[0],
                given[1] if given[1] is not None else learned[1])

    @staticmethod
    def _windows(usage: Usage) -> list[tuple[str, int, int]]:
        windows = [(DAILY, usage.daily_used, usage.daily_limit),
                   (MONTHLY, usage.monthly_used, usage.monthly_limit)]
        return [(window, used, limit) for window, used, limit in windows if limit]

    def _check(self, window: str, period: str, used: int, limit: int) -> None:
        for threshold in sorted(self.options.thresholds):
            if used < math.ceil(threshold * limit):
                return
            claim = f"alert:{window}:{period}:{threshold}"
            if self.store.claim_once(claim, _COUNT_TTL_S[window]):
                self.sink.emit(_threshold_alert(window, period, used, limit, threshold))


def _threshold_alert(window: str, period: str, used: int, limit: int, threshold: float) -> Alert:
    details = {"window": window, "period": period, "used": used, "limit": limit,
               "threshold": threshold, "fraction": round(used / limit, 4)}
    message = (f"QStash {window} usage at {used}/{limit} ({used / limit:.0%}), "
               f"past the {threshold:.0%} threshold")
    return Alert(AlertEvent.USAGE_THRESHOLD, message, details)
