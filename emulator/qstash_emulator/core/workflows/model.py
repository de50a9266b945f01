"""Workflow runs as values: a run, its history, its waiters and the events held for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..model import CallbackSpec, FlowControl


class RunState(StrEnum):
    RUN_STARTED = "RUN_STARTED"
    RUN_SUCCESS = "RUN_SUCCESS"
    RUN_FAILED = "RUN_FAILED"
    RUN_CANCELED = "RUN_CANCELED"


class CallbackState(StrEnum):
    """How the failure callback of a failed run is doing."""

    CALLBACK_INPROGRESS = "CALLBACK_INPROGRESS"
    CALLBACK_SUCCESS = "CALLBACK_SUCCESS"
    CALLBACK_FAIL = "CALLBACK_FAIL"
    CALLBACK_CANCELED = "CALLBACK_CANCELED"


class CallType(StrEnum):
    """What a message of a run is: a step, the two legs of `context.call`, the failure call."""

    STEP = "step"
    TO_CALLBACK = "toCallback"
    FROM_CALLBACK = "fromCallback"
    FAILURE_CALL = "failureCall"


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One message of a run as the app receives it in the history: its id, body, call type."""

    message_id: str
    body: bytes
    call_type: str


@dataclass(frozen=True, slots=True)
class RunSettings:
    """What the `Init` message set for the whole run; a step that sets nothing inherits it."""

    headers: dict[str, str] = field(default_factory=dict)
    retries: int = 3
    retry_delay_expr: str | None = None
    failure_callback: CallbackSpec | None = None
    flow_control: FlowControl | None = None
    labels: tuple[str, ...] = ()
    caller_ip: str | None = None


@dataclass(frozen=True, slots=True)
class Invoker:
    """The run that started this one with `context.invoke`, and the step awaiting the result."""

    run_id: str
    url: str
    created_at_ms: int
    headers: dict[str, str]
    step: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a run failed and how its failure callback is doing."""

    dlq_id: str
    status: int
    headers: dict[str, str]
    body: bytes
    callback_url: str | None = None
    callback_message_id: str | None = None
    callback_state: CallbackState | None = None
    callback_status: int | None = None
    callback_body: bytes = b""


@dataclass(frozen=True, slots=True)
class Run:
    """One workflow run. Replaced (never mutated) on every change; its history and messages
    are kept apart (appended atomically as steps are published and delivered)."""

    tenant: str
    run_id: str
    url: str
    created_at_ms: int
    initial_body: bytes
    init_message_id: str
    settings: RunSettings = RunSettings()
    state: RunState = RunState.RUN_STARTED
    completed_at_ms: int | None = None
    response: str | None = None
    invoker: Invoker | None = None
    failure: Failure | None = None

    @property
    def live(self) -> bool:
        return self.state is RunState.RUN_STARTED


@dataclass(frozen=True, slots=True)
class Waiter:
    """A run waiting for an event (`context.waitForEvent`) until `deadline_ms`."""

    tenant: str
    event_id: str
    run_id: str
    url: str
    deadline_ms: int
    timeout: str
    headers: dict[str, str]
    timeout_url: str
    timeout_headers: dict[str, str]
    step: dict[str, Any]
    waiter_id: str = ""


@dataclass(frozen=True, slots=True)
class RunSummary:
    """A run as a list shows it: the run and how many step messages its history holds (the
    initial payload counts as the first, as the `init` step of the logs)."""

    run: Run
    steps: int


@dataclass(frozen=True, slots=True)
class RunPage:
    """Runs newest first, and the cursor to read on from (None after the last)."""

    runs: list[RunSummary]
    cursor: str | None


ORDER_KEY_DIGITS = 15


def order_key(created_at_ms: int, name: str) -> str:
    """How a store orders a tenant's runs, as text: creation time (fixed width), then `name`
    (the run id, or the store's escaped form of it). Page cursors are such keys."""
    return f"{created_at_ms:0{ORDER_KEY_DIGITS}d}:{name}"


def is_order_key(text: str) -> bool:
    digits, colon, name = (text[:ORDER_KEY_DIGITS], text[ORDER_KEY_DIGITS:ORDER_KEY_DIGITS + 1],
                           text[ORDER_KEY_DIGITS + 1:])
    return (len(digits) == ORDER_KEY_DIGITS and digits.isascii() and digits.isdigit()
            and colon == ":" and bool(name))
