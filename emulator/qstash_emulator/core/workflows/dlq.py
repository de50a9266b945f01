"""The workflow DLQ: failed steps of runs, and what can be done with them (resume the run at
the failed step, restart it from the start, call the failure callback again, delete)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from .. import protocol as p
from ..context import Context
from ..errors import BadRequest
from ..messages.filters import MessageFilter, Page, int_param, page_size, paginate, values
from ..messages.parse import parse_publish
from ..model import DlqEntry, Message, WorkflowRef
from .desk import Desk
from .model import CallbackState, CallType, Run, RunState
from .ports import WorkflowStore

Params = Mapping[str, Sequence[str]]
RUN_FAILURES = (CallType.STEP, CallType.FROM_CALLBACK)


@dataclass(frozen=True, slots=True)
class FailedStep:
    """A workflow DLQ entry with its run (None if the run is gone)."""

    entry: DlqEntry
    run: Run | None


@dataclass(frozen=True, slots=True)
class StartedRun:
    run_id: str
    created_at_ms: int


def run_ref(entry: DlqEntry) -> WorkflowRef | None:
    """The run a DLQ entry failed, if it is the failure of a run's step."""
    ref = entry.message.workflow
    return ref if ref is not None and ref.call_type in RUN_FAILURES else None


class WorkflowDlq:
    def __init__(self, ctx: Context, store: WorkflowStore, desk: Desk) -> None:
        self.ctx = ctx
        self.store = store
        self.desk = desk

    def list(self, tenant: str, params: Params) -> Page[FailedStep]:
        found = (self._with_run(e) for e in self.desk.dlq(tenant) if run_ref(e) is not None)
        chosen = (item for item in found if _matches(item, params))
        cursor = next(iter(values(params, "cursor")), None)
        return paginate(chosen, lambda s: s.entry.dlq_id, cursor, page_size(params, 100, 100))

    def get(self, tenant: str, dlq_id: str) -> FailedStep:
        entry = self.desk.get_dlq(tenant, dlq_id)
        if run_ref(entry) is None:
            raise BadRequest(p.WORKFLOW_NOT_A_RUN_FAILURE.format(dlq_id=dlq_id))
        return self._with_run(entry)

    def _with_run(self, entry: DlqEntry) -> FailedStep:
        ref = entry.message.workflow
        assert ref is not None
        return FailedStep(entry, self.store.get_run(entry.message.tenant, ref.run_id))

    def delete(self, tenant: str, dlq_ids: Sequence[str]) -> int:
        return sum(self.desk.delete_dlq(tenant, dlq_id) for dlq_id in dlq_ids)

    def resume(self, tenant: str, step: FailedStep, headers: Mapping[str, str]) -> StartedRun:
        """A new run with the old one's payload, settings and history up to the failed step,
        which is delivered again (the steps before it are not run again)."""
        old = self._source(step)
        run = self._fresh(old)
        failed_id = step.entry.message.message_id
        kept = [i for i in self.store.history(tenant, old.run_id) if i.message_id != failed_id]
        self.store.put_history(tenant, run.run_id, kept)
        ref = replace(_ref(step.entry.message), run_id=run.run_id, created_at_ms=run.created_at_ms)
        again = self.desk.retry_dlq(tenant, step.entry, headers, ref)
        self.store.add_run_message(tenant, run.run_id, again.message_id)
        return StartedRun(run.run_id, run.created_at_ms)

    def restart(self, tenant: str, step: FailedStep, headers: Mapping[str, str]) -> StartedRun:
        """A new run with the old one's payload and settings, from its first step (the
        `Upstash-Retries` and `Upstash-Delay` of the request override the old ones)."""
        old = self._source(step)
        run = self._fresh(old)
        first = _with_overrides(_init_message(run, self.ctx.ids.new_id("msg"),
                                              self.ctx.now_ms()), headers)
        self.desk.delete_dlq(tenant, step.entry.dlq_id)
        self.desk.store_new(first)
        self.store.add_run_message(tenant, run.run_id, first.message_id)
        return StartedRun(run.run_id, run.created_at_ms)

    def retry_callback(self, tenant: str, step: FailedStep) -> StartedRun:
        """Call the failed failure callback of the step's run again."""
        run = self._source(step)
        failure = run.failure
        state = failure.callback_state if failure else None
        if failure is None or state is not CallbackState.CALLBACK_FAIL:
            raise BadRequest(p.WORKFLOW_CALLBACK_NOT_FAILED.format(
                run_id=run.run_id, state=state.value if state else "none"))
        entry = next((e for e in self.desk.dlq(tenant)
                      if e.message.message_id == failure.callback_message_id), None)
        if entry is None:
            raise BadRequest(p.WORKFLOW_CALLBACK_NOT_FAILED.format(
                run_id=run.run_id, state="gone from the DLQ"))
        again = self.desk.retry_dlq(tenant, entry, {})
        self.store.put_run(replace(run, failure=replace(
            failure, callback_message_id=again.message_id,
            callback_state=CallbackState.CALLBACK_INPROGRESS)))
        return StartedRun(run.run_id, run.created_at_ms)

    def _source(self, step: FailedStep) -> Run:
        if step.run is None:
            raise BadRequest(p.WORKFLOW_NOT_A_RUN_FAILURE.format(dlq_id=step.entry.dlq_id))
        return step.run

    def _fresh(self, old: Run) -> Run:
        """A new run (new id, created now) with the old run's payload and settings."""
        run = replace(old, run_id=self.ctx.ids.new_id("wfr"), created_at_ms=self.ctx.now_ms(),
                      state=RunState.RUN_STARTED, completed_at_ms=None, response=None,
                      failure=None, invoker=None)
        self.store.create_run(run)
        return run


def _ref(message: Message) -> WorkflowRef:
    assert message.workflow is not None
    return message.workflow


def _init_message(run: Run, message_id: str, now_ms: int) -> Message:
    """The first message of a restarted run, as its `Init` would have been published."""
    settings = run.settings
    ref = WorkflowRef(run.run_id, url=run.url, created_at_ms=run.created_at_ms, init=True)
    failure = settings.failure_callback
    if failure is not None and failure.workflow is not None:
        failure = replace(failure, workflow=replace(failure.workflow, run_id=run.run_id,
                                                    created_at_ms=run.created_at_ms))
    return Message(
        message_id=message_id, tenant=run.tenant, url=run.url, body=run.initial_body,
        created_at_ms=now_ms, not_before_ms=now_ms, due_at_ms=now_ms,
        headers=dict(settings.headers), max_retries=settings.retries,
        retry_delay_expr=settings.retry_delay_expr, failure_callback=failure,
        flow_control=settings.flow_control, labels=settings.labels,
        caller_ip=settings.caller_ip, workflow=ref)


def _with_overrides(message: Message, headers: Mapping[str, str]) -> Message:
    config = {k: v for k, v in headers.items() if k.startswith(p.CONFIG_PREFIX)}
    given = parse_publish(message.url, config, b"", now_ms=message.created_at_ms).template
    retries = given.max_retries if p.RETRIES in config else message.max_retries
    return replace(message, max_retries=retries, not_before_ms=given.not_before_ms,
                   due_at_ms=given.not_before_ms)


def _matches(step: FailedStep, params: Params) -> bool:
    entry, run = step.entry, step.run
    if not MessageFilter.from_params(params).matches(entry.message, entry.failed_at_ms):
        return False
    checks = {
        "workflowRunId": run.run_id if run else None,
        "workflowUrl": run.url if run else None,
        "responseStatus": str(entry.response.status),
        "failureFunctionState": _callback_state(run),
    }
    if any(values(params, name) and value not in values(params, name)
           for name, value in checks.items()):
        return False
    created = int_param(params, "workflowCreatedAt")
    return created is None or (run is not None and run.created_at_ms == created)


def _callback_state(run: Run | None) -> str | None:
    if run is None or run.failure is None or run.failure.callback_state is None:
        return None
    return run.failure.callback_state.value
