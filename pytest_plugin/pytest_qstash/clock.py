"""Time for tests: `EmulatorClock` drives an emulator's virtual clock; `FreezableClock` is a
virtual clock that becomes freezegun's frozen time while a test has time frozen."""

from __future__ import annotations

import calendar
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from qstash_emulator.clocks import VirtualClock

if TYPE_CHECKING:
    from qstash_emulator.control import EmulatorControl


def _frozen_factory() -> Any:
    """freezegun's innermost active time factory, or None (freezegun is never imported here)."""
    api = sys.modules.get("freezegun.api")
    factories = getattr(api, "freeze_factories", None)
    return factories[-1] if factories else None


def _naive_utc_ms(moment: datetime) -> int:
    return calendar.timegm(moment.timetuple()) * 1000 + moment.microsecond // 1000


class FreezableClock(VirtualClock):
    """A virtual clock that *is* freezegun's frozen time while time is frozen in this process.

    Outside a freeze it is an ordinary :class:`VirtualClock`. Inside one, ``now()`` and
    ``wall()`` (the signature's ``iat``) read the frozen time, and moving this clock
    forward moves the frozen time too, so the test, the emulator and ``Receiver.verify``
    agree on what time it is. Only an emulator running in the test's process can follow.

    >>> from qstash_emulator import Emulator, Settings
    >>> emulator = Emulator(Settings(clock="virtual"), clock=FreezableClock())
    """

    def now(self) -> float:
        return self.now_ms() / 1000

    def now_ms(self) -> int:
        factory = _frozen_factory()
        if factory is None:
            return super().now_ms()
        return _naive_utc_ms(factory())

    def wall(self) -> float:
        factory = _frozen_factory()
        if factory is None:
            return super().wall()
        return _naive_utc_ms(factory()) / 1000

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock cannot go backwards")
        self.set_ms(self.now_ms() + round(seconds * 1000))

    def set_ms(self, timestamp_ms: int) -> None:
        """Move to `timestamp_ms` (never backwards); inside a freeze, move the frozen time."""
        factory = _frozen_factory()
        if factory is None:
            super().set_ms(timestamp_ms)
        elif timestamp_ms > self.now_ms():
            factory.move_to(datetime.fromtimestamp(timestamp_ms / 1000, UTC))


class EmulatorClock:
    """The emulator's virtual clock as seen from a test (the `qstash_clock` fixture).

    >>> clock = EmulatorClock(EmulatorControl(url, token))  # doctest: +SKIP
    >>> clock.advance(60)  # every message due within the minute is delivered on return
    """

    def __init__(self, control: EmulatorControl) -> None:
        self._control = control

    def now(self) -> datetime:
        """The emulator's current time (timezone-aware, UTC)."""
        return _from_ms(self._control.now_ms())

    def time(self) -> float:
        """The emulator's time in seconds since the epoch: a drop-in for `time.time`, e.g.
        `RequestQueue(clock=qstash_clock.time)` puts the queue's timers on this clock."""
        return self.now().timestamp()

    def advance(self, seconds: float) -> datetime:
        """Move the virtual clock forward; returns once every attempt due on the way was made."""
        if seconds < 0:
            raise ValueError("the emulator clock cannot go backwards")
        return _from_ms(self._control.advance(seconds))

    def advance_to(self, moment: datetime) -> datetime:
        """Move the clock to `moment` (a naive datetime is taken as UTC, as freezegun does)."""
        target = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        seconds = (target - self.now()).total_seconds()
        if seconds < 0:
            raise ValueError(f"{target.isoformat()} is in the emulator's past")
        return self.advance(seconds)


def _from_ms(timestamp_ms: int) -> datetime:
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC)
