"""A run's steps in order, as a person reads them: what each step returned, when, and what is
still to come (a sleep until its deadline, a retry, a wait for an event)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, replace
from typing import Any

from ..model import Message, State
from .history import step_of
from .model import CallType, HistoryItem, Run, Waiter

DONE = "STEP_SUCCESS"
WAITING = "STEP_WAITING"
PENDING_STATES = {State.CREATED: "STEP_PROGRESS", State.ACTIVE: "STEP_PROGRESS",
                  State.RETRY: "STEP_RETRY", State.FAILED: "STEP_FAILED",
                  State.CANCELED: "STEP_CANCELED"}


@dataclass(frozen=True, slots=True)
class StepRow:
    """One step of a run. `deadline_ms`: when a sleep ends or a wait times out; `status`: the
    answer of a `context.call`, or of the last failed attempt of a step still to come."""

    name: str
    type: str
    state: str
    step_id: int | None = None
    time_ms: int | None = None
    out: str | None = None
    message_id: str | None = None
    deadline_ms: int | None = None
    event_id: str | None = None
    status: int | None = None
    url: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class RunDetail:
    """A run with its step timeline and the events it waits for now."""

    run: Run
    steps: list[StepRow]
    waiters: list[Waiter]


def timeline(run: Run, history: list[HistoryItem], messages: list[Message],
             waiters: list[Waiter]) -> list[StepRow]:
    """The initial payload, each step the app reported (oldest first), then the messages of the
    run not yet delivered and the waits still open."""
    by_id = {message.message_id: message for message in messages}
    rows = [StepRow("init", "Initial", DONE, 0, run.created_at_ms,
                    run.initial_body.decode("utf-8", errors="replace"), run.init_message_id)]
    delivered = {item.message_id for item in history}
    for item in history:
        step = step_of(item.body) if item.call_type == CallType.STEP else None
        if step is not None and item.message_id != run.init_message_id:
            rows.append(_done(step, item.message_id, by_id.get(item.message_id)))
    rows += [_pending(m, m.message_id in delivered) for m in messages
             if m.state in PENDING_STATES and _shown(m)]
    rows += [_waiting(waiter) for waiter in sorted(waiters, key=lambda w: w.deadline_ms)]
    return rows


def _shown(message: Message) -> bool:
    return message.workflow is None or message.workflow.call_type != CallType.FAILURE_CALL


def _step_row(step: dict[str, Any], state: str, message: Message | None) -> StepRow:
    step_id = step.get("stepId")
    return StepRow(
        name=str(step.get("stepName", "")), type=str(step.get("stepType", "")), state=state,
        step_id=step_id if isinstance(step_id, int) else None,
        time_ms=message.created_at_ms if message else None, out=_out(step),
        message_id=message.message_id if message else None,
        event_id=_text(step.get("waitEventId")), url=_text(step.get("callUrl")))


def _done(step: dict[str, Any], message_id: str, message: Message | None) -> StepRow:
    row = replace(_step_row(step, DONE, message), message_id=message_id)
    if row.type == "Call":
        return replace(row, status=_call_status(row.out))
    if _is_sleep(step) and message is not None:
        return replace(row, deadline_ms=message.not_before_ms or message.created_at_ms)
    if step.get("waitTimeout") is True:
        return replace(row, error="timed out")
    return row


def _pending(message: Message, delivered: bool) -> StepRow:
    """A message of the run still to be delivered (or that failed): its step, or, when its
    step is in the history already, the step the app runs next."""
    state = PENDING_STATES[message.state]
    response = message.last_response
    failed = response is not None and not response.ok
    step = None if delivered else step_of(message.body)
    if message.workflow is not None and message.workflow.call_type == CallType.TO_CALLBACK:
        row = StepRow("call", "Call", state, url=message.url)
    elif step is None:
        row = StepRow("next step", "", state)
    else:
        row = _step_row(step, state, message)
    return replace(row, message_id=message.message_id, time_ms=message.created_at_ms,
                   deadline_ms=message.due_at_ms if not message.finished else None,
                   status=response.status if failed and response else None,
                   error=response.error if failed and response else None)


def _waiting(waiter: Waiter) -> StepRow:
    row = _step_row(waiter.step, WAITING, None)
    return replace(row, type=row.type or "Wait", deadline_ms=waiter.deadline_ms,
                   event_id=waiter.event_id)


def _is_sleep(step: dict[str, Any]) -> bool:
    return step.get("sleepFor") is not None or step.get("sleepUntil") is not None


def _out(step: dict[str, Any]) -> str | None:
    """What the step returned, as text (a sleep returns nothing); a woken wait's event data
    is sent in base64."""
    out = step.get("out")
    if out is None or _is_sleep(step):
        return None
    if not isinstance(out, str):
        return json.dumps(out)
    if step.get("waitEventId") is not None:
        try:
            return base64.b64decode(out, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return out
    return out


def _call_status(out: str | None) -> int | None:
    try:
        status = json.loads(out or "").get("status")
    except (ValueError, AttributeError):
        return None
    return status if isinstance(status, int) else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
