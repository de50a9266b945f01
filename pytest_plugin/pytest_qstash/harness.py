"""The harness switches (quota, outage, destination faults) as context managers.

`Quota`, `Faults` and `Outage` wrap an `EmulatorControl` so that every change is undone when its
`with` block (or the test) ends.

>>> with Quota(EmulatorControl(url, token)).exhaust():  # doctest: +SKIP
...     client.message.publish(...)  # raises DailyMessageLimitExceededError
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Unpack

from qstash_emulator.control import EmulatorControl, WindowLimits, window_limits


class Switch:
    """A harness change in force; leaving its `with` block (or `undo()`) takes it back."""

    def __init__(self, undo: Callable[[], None], value: Any = None) -> None:
        self.value = value
        self._undo: Callable[[], None] | None = undo

    @property
    def active(self) -> bool:
        return self._undo is not None

    def undo(self) -> None:
        undo, self._undo = self._undo, None
        if undo is not None:
            undo()

    def __enter__(self) -> Switch:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.undo()


class _Switches:
    """Remembers the switches it made so that `undo_all()` can end the ones still active."""

    def __init__(self, control: EmulatorControl) -> None:
        self.control = control
        self._made: list[Switch] = []

    def _switch(self, undo: Callable[[], None], value: Any = None) -> Switch:
        switch = Switch(undo, value)
        self._made.append(switch)
        return switch

    def undo_all(self) -> None:
        while self._made:
            self._made.pop().undo()


class Quota(_Switches):
    """The test tenant's quota: `get()`, `set(daily=3)`, `exhaust("daily")`, `reset()`."""

    def get(self) -> dict[str, Any]:
        return self.control.quota()

    def set(self, **limits: Unpack[WindowLimits]) -> Switch:
        """Set `daily`, `monthly` or `burst` now (None lifts one); the switch puts the previous
        limits back."""
        before = self.control.quota()
        restore = window_limits({window: _limit_of(before, window) for window in limits})
        self.control.set_quota(**limits)

        def put_back() -> None:
            self.control.set_quota(**restore)

        return self._switch(put_back)

    def exhaust(self, window: str = "daily") -> Switch:
        """Use up `window` ("daily" or "monthly") now; the switch resets the usage."""
        self.control.exhaust_quota(window)
        return self._switch(self.reset)

    def reset(self) -> None:
        """Forget the usage counted so far (the limits stay)."""
        self.control.reset_quota()


class Outage(_Switches):
    """A QStash outage for this test's tenant: `with qstash_outage("error", status=503): ...`."""

    def start(
        self, mode: str = "error", *, status: int | None = None, seconds: float | None = None,
        count: int | None = None, paths: list[str] | None = None,
    ) -> Switch:
        """Start an outage (`error`, `timeout` or `reset`); the switch ends it."""
        if mode == "error" and status is None:
            status = 503
        self.control.start_outage(mode, status=status, seconds=seconds, count=count,
                                  paths=paths)
        return self._switch(self.end)

    __call__ = start

    def end(self) -> None:
        self.control.end_outage()


class Faults(_Switches):
    """Destination faults: `with qstash_faults.add("*/hook", statuses=[500, 503]): ...`."""

    def add(self, match: str, **effects: Any) -> Switch:
        """Add a rule (exact URL, prefix or glob); `switch.value` is its id; undo removes it."""
        fault_id = self.control.add_fault(match, **effects)
        return self._switch(lambda: self.control.remove_fault(fault_id), fault_id)

    def duplicate(self, match: str, after_s: float = 0) -> Switch:
        """Deliver each successful message to `match` a second time after `after_s` seconds."""
        return self.add(match, duplicate_after_s=after_s)

    def list(self) -> list[dict[str, Any]]:
        return self.control.faults()

    def clear(self) -> None:
        self.control.clear_faults()


def _limit_of(quota: dict[str, Any], window: str) -> int | None:
    """The current limit of `window` from a `GET /__emulator__/quota` answer."""
    limits, entry = quota.get("limits"), quota.get(window)
    if isinstance(limits, dict) and window in limits:
        value = limits[window]
    elif isinstance(entry, dict):
        value = entry.get("limit")
    else:
        return None
    return value if isinstance(value, int) else None
