"""Workflow runs as their messages see them: a publish that names a run joins it, a step is
delivered with the run's history, a step that fails for good fails its run; and a run ends.

`RunBook` is the `MessageHooks` of publishing and attempts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace

from .. import protocol as p
from ..context import Context
from ..errors import BadRequest, NotFound
from ..messages.lifecycle import callback_body, callback_message
from ..messages.parse import Parsed
from ..model import CallbackSpec, Kind, Message, Response, WorkflowRef
from .desk import Desk
from .headers import callback_ref, failure_ref, given, step_ref
from .history import b64, history_body
from .invoke import invoke_request, invoker_answer
from .model import CallbackState, CallType, Failure, HistoryItem, Run, RunSettings, RunState
from .ports import WorkflowStore


class RunBook:
    def __init__(self, ctx: Context, store: WorkflowStore, desk: Desk) -> None:
        self.ctx = ctx
        self.store = store
        self.desk = desk

    def live_run(self, tenant: str, run_id: str) -> Run:
        """The run, if it is still running; else NotFound or BadRequest."""
        run = self.store.get_run(tenant, run_id)
        if run is None:
            raise NotFound(p.WORKFLOW_RUN_NOT_FOUND.format(run_id=run_id))
        if not run.live:
            raise BadRequest(p.WORKFLOW_RUN_ENDED.format(run_id=run_id, state=run.state.value))
        return run

    # publishing
    def shape(self, tenant: str, parsed: Parsed, headers: Mapping[str, str]) -> Parsed:
        ref = step_ref(headers)
        if ref is None:
            return parsed
        if ref.init:
            return replace(parsed, template=self._init_template(parsed.template, ref, headers))
        run = self.live_run(tenant, ref.run_id)
        joined = replace(ref, url=ref.url or run.url, created_at_ms=run.created_at_ms)
        template = _with_callback_runs(parsed.template, headers, run.created_at_ms)
        if joined.call_type == CallType.STEP:
            template = _inherit(template, run.settings, headers)
        template = _callback_inherits(template, run.settings)
        return replace(parsed, template=replace(template, workflow=joined))

    def _init_template(self, template: Message, ref: WorkflowRef,
                       headers: Mapping[str, str]) -> Message:
        if ref.invoke:
            invoke_request(template.body)  # refused here, before anything is stored
        joined = replace(ref, url=ref.url or template.url, call_type=CallType.STEP.value)
        return replace(_with_callback_runs(template, headers, 0), workflow=joined)

    def admit(self, message: Message) -> Message | str:
        ref = message.workflow
        assert ref is not None
        if not ref.init:
            self.store.add_run_message(message.tenant, ref.run_id, message.message_id)
            return message
        started = _started(message, self.ctx.now_ms())
        run = _new_run(started)
        if ref.invoke:
            body, invoker = invoke_request(message.body)
            run = replace(run, initial_body=body, invoker=invoker)
            started = replace(started, body=body)
        live = self.store.create_run(run)
        if live is not None:
            return live.init_message_id
        self.store.add_run_message(message.tenant, ref.run_id, message.message_id)
        return started

    # attempts
    def delivery(self, message: Message) -> tuple[bytes, dict[str, str]]:
        ref = message.workflow
        assert ref is not None
        headers = {
            p.WORKFLOW_RUN_ID_HEADER: ref.run_id,
            p.WORKFLOW_URL_HEADER: ref.url,
            p.WORKFLOW_INIT_HEADER: "false",
            p.WORKFLOW_CREATED_AT_HEADER: str(ref.created_at_ms),
        }
        if ref.call_type == CallType.FAILURE_CALL:
            return message.body, headers
        item = HistoryItem(message.message_id, message.body, ref.call_type)
        history = self.store.append_history(message.tenant, ref.run_id, item)
        if ref.call_type == CallType.TO_CALLBACK:
            return message.body, {}
        if ref.call_type == CallType.FROM_CALLBACK:
            return message.body, headers
        return history_body(history), headers

    def delivered(self, message: Message, response: Response) -> None:
        ref = message.workflow
        if ref is not None and ref.call_type == CallType.FAILURE_CALL:
            self._callback_ended(message, response, CallbackState.CALLBACK_SUCCESS)

    def failed(self, message: Message, response: Response, dlq_id: str) -> Message | None:
        ref = message.workflow
        assert ref is not None
        if ref.call_type == CallType.FAILURE_CALL:
            self._callback_ended(message, response, CallbackState.CALLBACK_FAIL)
            return None
        run = self.store.get_run(message.tenant, ref.run_id)
        if ref.call_type == CallType.TO_CALLBACK or run is None or not run.live:
            return None  # a failed call still answers its step, through its callback
        spec = message.failure_callback or run.settings.failure_callback
        call = None if spec is None else self._failure_call(message, response, dlq_id, run, spec)
        failure = Failure(dlq_id, response.status, dict(response.headers), response.body,
                          callback_url=spec.url if spec else None,
                          callback_message_id=call.message_id if call else None,
                          callback_state=CallbackState.CALLBACK_INPROGRESS if call else None)
        self.end(replace(run, state=RunState.RUN_FAILED, failure=failure))
        return call

    def _failure_call(self, source: Message, response: Response, dlq_id: str, run: Run,
                      spec: CallbackSpec) -> Message:
        """The failure callback: the usual JSON plus the run's id, creation time, URL and
        initial payload (as `sourceBody`)."""
        body = json.loads(callback_body(source, response, dlq_id))
        body.update(workflowRunId=run.run_id, workflowCreatedAt=run.created_at_ms, url=run.url,
                    sourceBody=b64(run.initial_body))
        ref = replace(spec.workflow or WorkflowRef(run.run_id, url=run.url), run_id=run.run_id,
                      call_type=CallType.FAILURE_CALL.value, created_at_ms=run.created_at_ms)
        return callback_message(source, replace(spec, workflow=ref), json.dumps(body).encode(),
                                Kind.FAILURE_CALLBACK, self.ctx.ids.new_id("msg"),
                                self.ctx.now_ms())

    def _callback_ended(self, message: Message, response: Response,
                        state: CallbackState) -> None:
        assert message.workflow is not None
        run = self.store.get_run(message.tenant, message.workflow.run_id)
        if run is None or run.failure is None:
            return
        failure = replace(run.failure, callback_message_id=message.message_id,
                          callback_state=state, callback_status=response.status,
                          callback_body=response.body)
        self.store.put_run(replace(run, failure=failure))

    # ending a run
    def end(self, run: Run) -> None:
        """Store the run as ended now and hand its outcome to its invoker, if any."""
        ended = replace(run, completed_at_ms=self.ctx.now_ms())
        self.store.put_run(ended)
        self.store.drop_held_events(run.tenant, run.run_id)
        if run.invoker is not None:
            answer = invoker_answer(
                run.invoker, body=run.response, failed=run.state is RunState.RUN_FAILED,
                canceled=run.state is RunState.RUN_CANCELED)
            self.desk.try_publish(run.tenant, answer)

    def finish(self, tenant: str, run_id: str, response: str | None) -> None:
        """The app's route function returned: the run succeeded with `response`."""
        run = self.live_run(tenant, run_id)
        self.end(replace(run, state=RunState.RUN_SUCCESS, response=response))

    def cancel(self, run: Run) -> bool:
        """Cancel a live run and drop its pending messages; False if it had ended."""
        if not run.live:
            return False
        self.end(replace(run, state=RunState.RUN_CANCELED))
        self.desk.cancel(run.tenant, self.store.run_messages(run.tenant, run.run_id))
        return True


def _started(message: Message, now_ms: int) -> Message:
    """The `Init` message as it starts its run now (its failure callback knows the run)."""
    assert message.workflow is not None
    failure = message.failure_callback
    if failure is not None and failure.workflow is not None:
        failure = replace(failure, workflow=replace(failure.workflow, created_at_ms=now_ms))
    return replace(message, workflow=replace(message.workflow, created_at_ms=now_ms),
                   failure_callback=failure)


def _new_run(message: Message) -> Run:
    ref = message.workflow
    assert ref is not None
    settings = RunSettings(
        headers=dict(message.headers), retries=message.max_retries,
        retry_delay_expr=message.retry_delay_expr, failure_callback=message.failure_callback,
        flow_control=message.flow_control, labels=message.labels, caller_ip=message.caller_ip)
    return Run(message.tenant, ref.run_id, ref.url, ref.created_at_ms, message.body,
               message.message_id, settings)


def _with_callback_runs(template: Message, headers: Mapping[str, str],
                        created_at_ms: int) -> Message:
    """The callbacks' own runs (`Upstash-Callback-Workflow-*`, `...-Failure-Callback-...`)."""
    callback, failure = template.callback, template.failure_callback
    called, failing = callback_ref(headers), failure_ref(headers)
    if callback is not None and called is not None:
        callback = replace(callback, workflow=replace(called, created_at_ms=created_at_ms))
    if failure is not None and failing is not None:
        failure = replace(failure, workflow=replace(
            failing, call_type=CallType.FAILURE_CALL.value, created_at_ms=created_at_ms))
    return replace(template, callback=callback, failure_callback=failure)


def _inherit(template: Message, settings: RunSettings, headers: Mapping[str, str]) -> Message:
    """A step takes what its run set and it does not set itself."""
    changes: dict[str, object] = {"headers": {**settings.headers, **template.headers}}
    if not given(headers, p.RETRIES):
        changes["max_retries"] = settings.retries
    if not given(headers, p.RETRY_DELAY):
        changes["retry_delay_expr"] = settings.retry_delay_expr
    if not given(headers, p.FLOW_CONTROL_KEY):
        changes["flow_control"] = settings.flow_control
    if not given(headers, p.LABEL):
        changes["labels"] = settings.labels
    return replace(template, **changes)  # type: ignore[arg-type]


def _callback_inherits(template: Message, settings: RunSettings) -> Message:
    """A `context.call`'s callback is a step of the run: retried as the run's steps are."""
    callback = template.callback
    if callback is None or callback.workflow is None or callback.retries is not None:
        return template
    return replace(template, callback=replace(callback, retries=settings.retries))
