"""Each tenant's workflow runs in creation order, all of them and per state: sorted lists of
order keys, so a page newest first costs a binary search and the page, and a count is a
length."""

from __future__ import annotations

from bisect import bisect_left, insort

from ...core.workflows.model import ORDER_KEY_DIGITS, Run, RunState, order_key

Slot = tuple[str, RunState | None]
"""A tenant and a state (None: every state)."""


class RunIndex:
    def __init__(self) -> None:
        self._keys: dict[Slot, list[str]] = {}

    def add(self, run: Run) -> None:
        key = order_key(run.created_at_ms, run.run_id)
        for slot in _slots(run):
            insort(self._keys.setdefault(slot, []), key)

    def remove(self, run: Run) -> None:
        key = order_key(run.created_at_ms, run.run_id)
        for slot in _slots(run):
            keys = self._keys.get(slot, [])
            at = bisect_left(keys, key)
            if at < len(keys) and keys[at] == key:
                del keys[at]

    def page(self, tenant: str, state: RunState | None, after: str | None, limit: int
             ) -> list[str]:
        """Run ids newest first, from just past the order key `after`."""
        keys = self._keys.get((tenant, state), [])
        end = len(keys) if after is None else bisect_left(keys, after)
        return [key[ORDER_KEY_DIGITS + 1:] for key in reversed(keys[max(0, end - limit):end])]

    def count(self, tenant: str, state: RunState) -> int:
        return len(self._keys.get((tenant, state), []))

    def forget(self, tenant: str | None) -> None:
        if tenant is None:
            self._keys.clear()
            return
        for slot in [slot for slot in self._keys if slot[0] == tenant]:
            del self._keys[slot]


def _slots(run: Run) -> tuple[Slot, Slot]:
    return (run.tenant, None), (run.tenant, run.state)
