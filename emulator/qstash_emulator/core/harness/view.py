"""This instance's copy of the harness state, so that hot paths need no store round trip."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import StoreUnavailable
from ..ports import HarnessStore
from .model import HarnessState

SHARED_REFRESH_S = 0.5
"""How stale the copy may get when other instances share the store (wall seconds)."""


class HarnessView:
    """The harness state as last read: read again once it is `max_age_s` old (wall time), so
    that another instance's change shows up that soon, and at the next use after this
    instance changed something. With `max_age_s` None (nobody else shares the store) only this
    instance's changes make it read again.

    The guard asks on every API request and the dispatcher on every attempt; with nothing
    configured both answer from this copy.
    """

    def __init__(
        self, store: HarnessStore, wall: Callable[[], float], max_age_s: float | None
    ) -> None:
        self._store = store
        self._wall = wall
        self._max_age_s = max_age_s
        self._state = HarnessState()
        self._read_at = 0.0
        self._stale = True

    def current(self) -> HarnessState:
        """The copy, read again when due; while the store cannot be read, the last copy."""
        if self._stale or (
            self._max_age_s is not None and self._wall() - self._read_at >= self._max_age_s
        ):
            try:
                return self.refresh()
            except StoreUnavailable:
                return self._state
        return self._state

    def refresh(self) -> HarnessState:
        """Read the state now."""
        self._state = self._store.harness_state()
        self._read_at = self._wall()
        self._stale = False
        return self._state

    def changed(self) -> None:
        """This instance changed the state: read it again at the next use."""
        self._stale = True
