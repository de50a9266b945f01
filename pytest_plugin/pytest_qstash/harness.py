"""The harness switches (quota, outage, destination faults) as context managers.

`HarnessControl` speaks the `/__emulator__/` quota, outage and fault forms; `Quota`, `Faults` and
`Outage` wrap it so that every change is undone when its `with` block (or the test) ends.

>>> with Quota(HarnessControl(url, token)).exhaust():  # doctest: +SKIP
...     client.message.publish(...)  # raises DailyMessageLimitExceededError
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

from .control import EmulatorControl

_UNSET: Any = object()



class HarnessUnavailable(RuntimeError):
    """The emulator answered 404 for a harness path: it is older than the harness API."""


class HarnessControl(EmulatorControl):
    """`EmulatorControl` plus the quota, outage and fault calls of the control API."""

    def _harness(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, f"/__emulator__/{path}", **kwargs)
        if response.status_code == 404 and not path.startswith("faults/"):
            raise HarnessUnavailable(
                f"the emulator at {self._http.base_url} has no /__emulator__/{path} API "
                "(404): it needs the quota/outage/fault control API"
            )
        if response.is_error:
            raise RuntimeError(f"{method} {path} failed: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def supports_harness(self) -> bool:
        """False when the emulator answers 404 for any of the quota, outage and fault paths."""
        paths = ("quota", "outage", "faults")
        return all(self._http.options(f"/__emulator__/{p}").status_code != 404 for p in paths)

    def quota(self) -> dict[str, Any]:
        return self._harness("GET", "quota")  # type: ignore[no-any-return]

    def set_quota(
        self, *, daily: int | None = _UNSET, monthly: int | None = _UNSET,
        burst: int | None = _UNSET,
    ) -> dict[str, Any]:
        """Change this tenant's limits; None lifts a limit, an omitted window is unchanged."""
        given = {"daily": daily, "monthly": monthly, "burst": burst}
        body = {name: value for name, value in given.items() if value is not _UNSET}
        return self._harness("PUT", "quota", json=body)  # type: ignore[no-any-return]

    def exhaust(self, window: str = "daily") -> None:
        self._harness("POST", "quota/exhaust", json={"window": window})

    def reset_quota(self) -> None:
        self._harness("POST", "quota/reset")

    def outage(
        self, mode: str = "error", status: int | None = None, seconds: float | None = None,
        count: int | None = None, paths: list[str] | None = None,
    ) -> None:
        given = {"mode": mode, "status": status, "seconds": seconds, "count": count,
                 "paths": paths}
        self._harness("POST", "outage", json={k: v for k, v in given.items() if v is not None})

    def end_outage(self) -> None:
        self._harness("DELETE", "outage")

    def add_fault(self, match: str, **effects: Any) -> str:
        return str(self._harness("POST", "faults", json={"match": match, **effects})["id"])

    def faults(self) -> list[dict[str, Any]]:
        listed = self._harness("GET", "faults")
        return listed["faults"] if isinstance(listed, dict) else listed  # type: ignore[no-any-return]

    def clear_faults(self) -> None:
        self._harness("DELETE", "faults")

    def remove_fault(self, fault_id: str) -> None:
        self._harness("DELETE", f"faults/{fault_id}")


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

    def __init__(self, control: HarnessControl) -> None:
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

    def set(
        self, *, daily: int | None = _UNSET, monthly: int | None = _UNSET,
        burst: int | None = _UNSET,
    ) -> Switch:
        """Set limits now; the switch puts the previous limits back."""
        before = self.control.quota()
        given = {"daily": daily, "monthly": monthly, "burst": burst}
        changed = {name: value for name, value in given.items() if value is not _UNSET}
        restore = {name: _limit_of(before, name) for name in changed}
        self.control.set_quota(**changed)

        def put_back() -> None:
            self.control.set_quota(**restore)

        return self._switch(put_back)

    def exhaust(self, window: str = "daily") -> Switch:
        """Use up `window` ("daily" or "monthly") now; the switch resets the usage."""
        self.control.exhaust(window)
        return self._switch(self.control.reset_quota)

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
        self.control.outage(mode, status=status, seconds=seconds, count=count, paths=paths)
        return self._switch(self.control.end_outage)

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
    limits = quota.get("limits")
    if isinstance(limits, dict) and window in limits:
        return limits[window]  # type: ignore[no-any-return]
    entry = quota.get(window)
    if isinstance(entry, dict):
        return entry.get("limit")
    return None
