"""The workflow feature as the service sees it: runs (history, end, cancel, logs), wait and
notify, and the workflow DLQ."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .. import protocol as p
from ..context import Context
from ..errors import BadRequest, NotFound
from ..messages.filters import Page, page_size, paginate, values
from ..model import Message
from .desk import Desk
from .dlq import WorkflowDlq
from .filters import RunFilter
from .model import HistoryItem, Run, RunPage, RunState, is_order_key
from .ports import WorkflowStore
from .runs import RunBook
from .timeline import RunDetail, timeline
from .waits import Waits

Params = Mapping[str, Sequence[str]]
BULK_CANCEL_COUNT = 100
BROWSE_COUNT, BROWSE_MAX = 50, 200


@dataclass(frozen=True, slots=True)
class RunView:
    """A run with what its logs show: its history and the messages the store still has."""

    run: Run
    history: list[HistoryItem]
    messages: list[Message]


class Workflows:
    def __init__(self, ctx: Context, store: WorkflowStore, desk: Desk) -> None:
        self.store = store
        self.desk = desk
        self.book = RunBook(ctx, store, desk)
        self.waits = Waits(ctx, store, self.book, desk)
        self.dlq = WorkflowDlq(ctx, store, desk)

    def history(self, tenant: str, run_id: str) -> list[HistoryItem]:
        """The history a step of the run would be delivered with now; a run that ended is not
        found (the JS SDK takes that 404 as "the run has ended")."""
        run = self.store.get_run(tenant, run_id)
        if run is None or not run.live:
            raise NotFound(p.WORKFLOW_RUN_NOT_FOUND.format(run_id=run_id))
        return self.store.history(tenant, run_id)

    def end_run(self, tenant: str, run_id: str, *, cancel: bool, response: str | None) -> None:
        """`DELETE /v2/workflows/runs/{id}`: the run succeeded (or is canceled)."""
        if cancel:
            self.book.cancel(self.book.live_run(tenant, run_id))
        else:
            self.book.finish(tenant, run_id, response)

    def cancel_runs(self, tenant: str, ids: list[str] | None, params: Params) -> int:
        """Cancel the runs named, or those the filters choose (all with none), up to `count`."""
        if ids is not None:
            found = [self.store.get_run(tenant, run_id) for run_id in ids]
            return sum(self.book.cancel(run) for run in found if run is not None)
        wanted = RunFilter.from_params(params, url_exact=False)
        live = [run for run in _newest_first(self.store.runs(tenant))
                if run.live and wanted.matches(run)]
        return sum(self.book.cancel(run) for run in live[:page_size(params, BULK_CANCEL_COUNT,
                                                                     10_000)])

    def runs(self, tenant: str, params: Params) -> Page[RunView]:
        wanted = RunFilter.from_params(params, url_exact=True)
        chosen = (run for run in _newest_first(self.store.runs(tenant)) if wanted.matches(run))
        cursor = next(iter(values(params, "cursor")), None)
        page = paginate(chosen, lambda run: run.run_id, cursor, page_size(params, 10, 100))
        return Page([self._view(run) for run in page.items], page.cursor)

    def _view(self, run: Run) -> RunView:
        ids = self.store.run_messages(run.tenant, run.run_id)
        found = [m for m in self.desk.messages(run.tenant, ids) if m is not None]
        return RunView(run, self.store.history(run.tenant, run.run_id), found)

    def browse(self, tenant: str, params: Params) -> RunPage:
        """Runs newest first, one page (`state`, `cursor`, `count`) read from the store's
        indexes: a page costs the same with ten runs as with ten thousand."""
        cursor = next(iter(params.get("cursor", ())), None) or None
        if cursor is not None and not is_order_key(cursor):
            raise BadRequest(p.WORKFLOW_RUN_CURSOR.format(value=cursor))
        return self.store.run_page(tenant, _state(values(params, "state")), cursor,
                                   page_size(params, BROWSE_COUNT, BROWSE_MAX))

    def counts(self, tenant: str) -> dict[RunState, int]:
        return self.store.run_counts(tenant)

    def detail(self, tenant: str, run_id: str) -> RunDetail:
        """The run (ended or not), its step timeline and, while it runs, its waiters."""
        run = self.store.get_run(tenant, run_id)
        if run is None:
            raise NotFound(p.WORKFLOW_RUN_NOT_FOUND.format(run_id=run_id))
        view = self._view(run)
        waiters = self.store.run_waiters(tenant, run_id) if run.live else []
        return RunDetail(run, timeline(run, view.history, view.messages, waiters), waiters)


def _state(given: list[str]) -> RunState | None:
    if not given:
        return None
    try:
        return RunState(given[0].upper())
    except ValueError:
        states = ", ".join(state.value for state in RunState)
        raise BadRequest(p.WORKFLOW_RUN_STATE.format(value=given[0], states=states)) from None


def _newest_first(runs: list[Run]) -> list[Run]:
    return sorted(runs, key=lambda run: (run.created_at_ms, run.run_id), reverse=True)
