"""The in-process workflow store: runs, histories and waiters per tenant, one deadline heap."""

from __future__ import annotations

import heapq
from collections import OrderedDict
from dataclasses import dataclass, field

from ...core.workflows.model import (
    CallType,
    HistoryItem,
    Run,
    RunPage,
    RunState,
    RunSummary,
    Waiter,
    order_key,
)
from .run_index import RunIndex


@dataclass
class RunData:
    run: Run
    history: list[HistoryItem] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    messages: list[str] = field(default_factory=list)
    held: dict[str, bytes] = field(default_factory=dict)


class MemoryWorkflowStore:
    """Workflow runs, waiters and held events in this process; of the runs that ended, the
    newest `max_ended_runs` per tenant are kept (with their history).

    >>> store = MemoryWorkflowStore(max_ended_runs=1000)
    """

    def __init__(self, *, max_ended_runs: int = 10_000) -> None:
        self._runs: dict[tuple[str, str], RunData] = {}
        self._ended: dict[str, OrderedDict[str, None]] = {}
        self._max_ended = max_ended_runs
        self._waiters: dict[tuple[str, str], dict[str, Waiter]] = {}
        self._by_run: dict[tuple[str, str], dict[str, Waiter]] = {}
        self._deadlines: list[tuple[int, str, str, str]] = []  # deadline, tenant, event, id
        self._index = RunIndex()

    # runs
    def create_run(self, run: Run) -> Run | None:
        key = (run.tenant, run.run_id)
        current = self._runs.get(key)
        if current is not None and current.run.live:
            return current.run
        if current is not None:
            self._index.remove(current.run)
        self._runs[key] = RunData(run)
        self._by_run.pop(key, None)
        self._index.add(run)
        self._ended.get(run.tenant, OrderedDict()).pop(run.run_id, None)
        return None

    def put_run(self, run: Run) -> None:
        data = self._runs.get((run.tenant, run.run_id))
        if data is None:
            self._runs[(run.tenant, run.run_id)] = RunData(run)
        else:
            self._index.remove(data.run)
            data.run = run
        self._index.add(run)
        if not run.live:
            self._note_ended(run)

    def _note_ended(self, run: Run) -> None:
        ended = self._ended.setdefault(run.tenant, OrderedDict())
        ended[run.run_id] = None
        ended.move_to_end(run.run_id)
        while len(ended) > self._max_ended:
            oldest, _ = ended.popitem(last=False)
            gone = self._runs.pop((run.tenant, oldest), None)
            self._by_run.pop((run.tenant, oldest), None)
            if gone is not None:
                self._index.remove(gone.run)

    def get_run(self, tenant: str, run_id: str) -> Run | None:
        data = self._runs.get((tenant, run_id))
        return None if data is None else data.run

    def runs(self, tenant: str) -> list[Run]:
        return [data.run for (owner, _), data in list(self._runs.items()) if owner == tenant]

    def run_page(self, tenant: str, state: RunState | None, after: str | None, limit: int
                 ) -> RunPage:
        ids = self._index.page(tenant, state, after, limit + 1)
        found = [self._runs[(tenant, run_id)] for run_id in ids[:limit]]
        summaries = [RunSummary(data.run, _steps(data.history)) for data in found]
        last = found[-1].run if found and len(ids) > limit else None
        return RunPage(summaries, None if last is None else order_key(last.created_at_ms,
                                                                       last.run_id))

    def run_counts(self, tenant: str) -> dict[RunState, int]:
        return {state: self._index.count(tenant, state) for state in RunState}

    # history and messages
    def _data(self, tenant: str, run_id: str) -> RunData | None:
        return self._runs.get((tenant, run_id))

    def append_history(self, tenant: str, run_id: str, item: HistoryItem) -> list[HistoryItem]:
        data = self._data(tenant, run_id)
        if data is None:
            return [item]
        if item.message_id not in data.seen:
            data.seen.add(item.message_id)
            data.history.append(item)
        return list(data.history)

    def history(self, tenant: str, run_id: str) -> list[HistoryItem]:
        data = self._data(tenant, run_id)
        return [] if data is None else list(data.history)

    def put_history(self, tenant: str, run_id: str, items: list[HistoryItem]) -> None:
        data = self._data(tenant, run_id)
        if data is not None:
            data.history = list(items)
            data.seen = {item.message_id for item in items}

    def add_run_message(self, tenant: str, run_id: str, message_id: str) -> None:
        data = self._data(tenant, run_id)
        if data is not None:
            data.messages.append(message_id)

    def run_messages(self, tenant: str, run_id: str) -> list[str]:
        data = self._data(tenant, run_id)
        return [] if data is None else list(data.messages)

    # waiters
    def put_waiter(self, waiter: Waiter) -> None:
        self._waiters.setdefault((waiter.tenant, waiter.event_id), {})[
            waiter.waiter_id] = waiter
        self._by_run.setdefault((waiter.tenant, waiter.run_id), {})[waiter.waiter_id] = waiter
        heapq.heappush(self._deadlines, (waiter.deadline_ms, waiter.tenant,
                                         waiter.event_id, waiter.waiter_id))

    def waiters(self, tenant: str, event_id: str) -> list[Waiter]:
        return list(self._waiters.get((tenant, event_id), {}).values())

    def run_waiters(self, tenant: str, run_id: str) -> list[Waiter]:
        return list(self._by_run.get((tenant, run_id), {}).values())

    def take_waiters(self, tenant: str, event_id: str, run_id: str | None) -> list[Waiter]:
        held = self._waiters.get((tenant, event_id), {})
        taken = [w for w in held.values() if run_id is None or w.run_id == run_id]
        for waiter in taken:
            del held[waiter.waiter_id]
            self._forget_waiter(waiter)
        return taken

    def _forget_waiter(self, waiter: Waiter) -> None:
        self._by_run.get((waiter.tenant, waiter.run_id), {}).pop(waiter.waiter_id, None)

    def pop_due_waiters(self, now_ms: int, limit: int) -> list[Waiter]:
        due: list[Waiter] = []
        while self._deadlines and self._deadlines[0][0] <= now_ms and len(due) < limit:
            _, tenant, event_id, waiter_id = heapq.heappop(self._deadlines)
            waiter = self._waiters.get((tenant, event_id), {}).pop(waiter_id, None)
            if waiter is not None:
                self._forget_waiter(waiter)
                due.append(waiter)
        return due

    def next_waiter_deadline_ms(self) -> int | None:
        while self._deadlines and not self._still_waiting(*self._deadlines[0][1:]):
            heapq.heappop(self._deadlines)
        return self._deadlines[0][0] if self._deadlines else None

    def _still_waiting(self, tenant: str, event_id: str, waiter_id: str) -> bool:
        return waiter_id in self._waiters.get((tenant, event_id), {})

    # held events
    def hold_event(self, tenant: str, run_id: str, event_id: str, data: bytes) -> None:
        run = self._data(tenant, run_id)
        if run is not None:
            run.held[event_id] = data

    def take_held_event(self, tenant: str, run_id: str, event_id: str) -> bytes | None:
        run = self._data(tenant, run_id)
        return None if run is None else run.held.pop(event_id, None)

    def drop_held_events(self, tenant: str, run_id: str) -> None:
        run = self._data(tenant, run_id)
        if run is not None:
            run.held.clear()

    def reset(self, tenant: str | None) -> None:
        if tenant is None:
            self._runs.clear()
            self._ended.clear()
            self._waiters.clear()
            self._by_run.clear()
            self._deadlines.clear()
            self._index.forget(None)
            return
        self._index.forget(tenant)
        self._ended.pop(tenant, None)
        for key in [k for k in self._runs if k[0] == tenant]:
            del self._runs[key]
        for key in [k for k in self._waiters if k[0] == tenant]:
            del self._waiters[key]
        for key in [k for k in self._by_run if k[0] == tenant]:
            del self._by_run[key]
        self._deadlines = [d for d in self._deadlines if d[1] != tenant]
        heapq.heapify(self._deadlines)


def _steps(history: list[HistoryItem]) -> int:
    return sum(item.call_type == CallType.STEP for item in history)
