"""What the workflow feature keeps: runs with their history and messages, waiters, and the
events held for runs that wait later. Every method is atomic; memory and Redis implement it
(`storage/`), checked by one contract suite."""

from __future__ import annotations

from typing import Protocol

from .model import HistoryItem, Run, RunPage, RunState, Waiter


class WorkflowStore(Protocol):
    # runs
    def create_run(self, run: Run) -> Run | None:
        """Store a new run, replacing a run of the same id that ended (its history and
        messages go with it); returns the live run of that id instead, storing nothing."""
        ...

    def put_run(self, run: Run) -> None: ...

    def get_run(self, tenant: str, run_id: str) -> Run | None: ...

    def runs(self, tenant: str) -> list[Run]: ...

    def run_page(self, tenant: str, state: RunState | None, after: str | None, limit: int
                 ) -> RunPage:
        """Up to `limit` runs newest first (by creation time, then id), only those in `state`
        when given, starting just past the cursor `after` (an `order_key`); each read costs
        the page, not the number of runs."""
        ...

    def run_counts(self, tenant: str) -> dict[RunState, int]:
        """How many runs the store keeps in each state (every state present), without a scan."""
        ...

    # a run's history (each message once, in delivery order) and its messages
    def append_history(self, tenant: str, run_id: str, item: HistoryItem) -> list[HistoryItem]:
        """Append `item` unless its message is there already; the whole history after."""
        ...

    def history(self, tenant: str, run_id: str) -> list[HistoryItem]: ...

    def put_history(self, tenant: str, run_id: str, items: list[HistoryItem]) -> None: ...

    def add_run_message(self, tenant: str, run_id: str, message_id: str) -> None: ...

    def run_messages(self, tenant: str, run_id: str) -> list[str]: ...

    # waiters (by event) and their deadlines
    def put_waiter(self, waiter: Waiter) -> None: ...

    def waiters(self, tenant: str, event_id: str) -> list[Waiter]: ...

    def run_waiters(self, tenant: str, run_id: str) -> list[Waiter]:
        """The run's waiters that were neither taken nor fell due, whatever their events."""
        ...

    def take_waiters(self, tenant: str, event_id: str, run_id: str | None) -> list[Waiter]:
        """Remove and return the event's waiters (only that run's, with `run_id`)."""
        ...

    def pop_due_waiters(self, now_ms: int, limit: int) -> list[Waiter]:
        """Remove and return waiters whose deadline is at or before `now_ms`, earliest first."""
        ...

    def next_waiter_deadline_ms(self) -> int | None: ...

    # events notified to a run before it waits for them
    def hold_event(self, tenant: str, run_id: str, event_id: str, data: bytes) -> None: ...

    def take_held_event(self, tenant: str, run_id: str, event_id: str) -> bytes | None: ...

    def drop_held_events(self, tenant: str, run_id: str) -> None: ...

    def reset(self, tenant: str | None) -> None: ...
