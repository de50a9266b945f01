"""Values of the domain: frozen dataclasses and str-Enums carrying QStash's exact strings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from enum import StrEnum
from typing import Any


class State(StrEnum):
    CREATED = "CREATED"
    ACTIVE = "ACTIVE"
    RETRY = "RETRY"
    ERROR = "ERROR"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    CANCEL_REQUESTED = "CANCEL_REQUESTED"
    CANCELED = "CANCELED"


TERMINAL_STATES = frozenset({State.DELIVERED, State.FAILED, State.CANCELED})


class Kind(StrEnum):
    """Why a message exists: published by a user, or produced as a callback."""

    MESSAGE = "message"
    CALLBACK = "callback"
    FAILURE_CALLBACK = "failure_callback"


@dataclass(frozen=True, slots=True)
class WorkflowRef:
    """The workflow run a message belongs to and its role in the run (`call_type`: a step, one
    of the two legs of `context.call`, or the failure call). `init` marks the run's first
    message, `invoke` one started by another run's `context.invoke`."""

    run_id: str
    call_type: str = "step"
    url: str = ""
    created_at_ms: int = 0
    init: bool = False
    invoke: bool = False


@dataclass(frozen=True, slots=True)
class CallbackSpec:
    """Where and how to call back after an attempt (or after final failure)."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "POST"
    retries: int | None = None
    retry_delay_expr: str | None = None
    timeout_s: int | None = None
    delay_s: int = 0
    workflow: WorkflowRef | None = None


@dataclass(frozen=True, slots=True)
class Redaction:
    body: bool = False
    all_headers: bool = False
    header_names: frozenset[str] = frozenset()

    @property
    def active(self) -> bool:
        return self.body or self.all_headers or bool(self.header_names)


@dataclass(frozen=True, slots=True)
class FlowControl:
    key: str
    parallelism: int | None = None
    rate: int | None = None
    period_s: int | None = None


@dataclass(frozen=True, slots=True)
class Response:
    """What a destination answered to one attempt (status 0: no HTTP answer)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str | None = None
    injected: bool = False
    fault: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True, slots=True)
class Message:
    """One message and its delivery progress. Replaced (never mutated) on every change."""

    message_id: str
    tenant: str
    url: str
    body: bytes
    created_at_ms: int
    not_before_ms: int
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)
    max_retries: int = 3
    retry_delay_expr: str | None = None
    timeout_s: int | None = None
    callback: CallbackSpec | None = None
    failure_callback: CallbackSpec | None = None
    labels: tuple[str, ...] = ()
    redaction: Redaction = Redaction()
    flow_control: FlowControl | None = None
    caller_ip: str | None = None
    topic_name: str | None = None
    endpoint_name: str | None = None
    queue_name: str | None = None
    schedule_id: str | None = None
    kind: Kind = Kind.MESSAGE
    source_message_id: str | None = None
    enlisted: bool = False  # joined its queue's wait list when accepted (FIFO by acceptance)
    workflow: WorkflowRef | None = None
    # progress
    state: State = State.CREATED
    retried: int = 0
    due_at_ms: int = 0
    last_response: Response | None = None

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL_STATES


def _slot_init(cls: type) -> Callable[..., None]:
    """An `__init__` for a frozen dataclass with slots that fills each slot through its own
    descriptor: the same signature, defaults and default factories as the one dataclasses
    writes, which goes through `object.__setattr__` for every field (twice the cost for a
    class of many fields, made for every message and every change of one)."""
    names: dict[str, Any] = {"FACTORY": object()}
    params, lines = [], []
    for item in fields(cls):
        name = item.name
        names[f"set_{name}"] = getattr(cls, name).__set__
        if item.default is not MISSING:
            names[f"default_{name}"] = item.default
            params.append(f"{name}=default_{name}")
        elif item.default_factory is not MISSING:
            names[f"factory_{name}"] = item.default_factory
            params.append(f"{name}=FACTORY")
            lines.append(f"    if {name} is FACTORY: {name} = factory_{name}()")
        else:
            params.append(name)
        lines.append(f"    set_{name}(self, {name})")
    exec(f"def __init__(self, {', '.join(params)}):\n" + "\n".join(lines), names)
    return names["__init__"]  # type: ignore[no-any-return]


_MESSAGE_SLOTS = [(f.name, getattr(Message, f.name)) for f in fields(Message)]
_MESSAGE_FIELDS = frozenset(name for name, _ in _MESSAGE_SLOTS)


def _slot_copier() -> Callable[[Message, dict[str, Any]], Message]:
    """A function that copies a Message slot by slot, taking each field from `changes` when
    given there: one line per field, written out once here (as dataclasses writes `__init__`),
    which runs at well under half the cost of a loop over the fields."""
    names: dict[str, Any] = {"new": object.__new__, "Message": Message}
    lines = ["def copy(message, changes):", "    result = new(Message)"]
    for name, slot in _MESSAGE_SLOTS:
        names[f"set_{name}"] = slot.__set__
        lines.append(f"    set_{name}(result, changes[{name!r}] if {name!r} in changes "
                     f"else message.{name})")
    lines.append("    return result")
    exec("\n".join(lines), names)  # the text holds only the dataclass's own field names
    return names["copy"]  # type: ignore[no-any-return]


_copy_message = _slot_copier()


def changed(message: Message, **changes: Any) -> Message:
    """`dataclasses.replace(message, **changes)` at a fraction of the cost (a message is copied
    several times in its life; replace re-checks every field on each call)."""
    if not _MESSAGE_FIELDS.issuperset(changes):
        raise TypeError(f"Message has no field(s) {sorted(changes.keys() - _MESSAGE_FIELDS)}")
    return _copy_message(message, changes)


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One state change of a message, as `/v2/events` reports it."""

    seq: int
    time_ms: int
    state: State
    message: Message
    error: str | None = None
    next_delivery_ms: int | None = None
    response: Response | None = None


@dataclass(frozen=True, slots=True)
class DlqEntry:
    dlq_id: str
    message: Message
    response: Response
    failed_at_ms: int


@dataclass(frozen=True, slots=True)
class SigningKeys:
    current: str
    next: str


@dataclass(frozen=True, slots=True)
class Tenant:
    name: str
    token: str


@dataclass(frozen=True, slots=True)
class DeliveryRequest:
    """Everything the dispatcher needs to make one HTTP attempt."""

    tenant: str
    message_id: str
    url: str
    method: str
    headers: dict[str, str]
    body: bytes
    timeout_s: float
    attempt: int
    started_at_ms: int
    start_seq: int = 0


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One attempt, as the emulator's delivery log shows it."""

    seq: int
    tenant: str
    message_id: str
    url: str
    method: str
    headers: dict[str, str]
    body: bytes
    attempt: int
    time_ms: int
    response: Response
    kind: Kind
    start_seq: int = 0
    ended_at_ms: int | None = None


@dataclass(frozen=True, slots=True)
class QuotaSettings:
    """A tenant's own quota settings: its plan (None: the emulator's) and limit overrides."""

    plan: str | None = None
    overrides: dict[str, int | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Usage:
    used: int = 0
    exhausted: bool = False


@dataclass(frozen=True, slots=True)
class MessageCounts:
    """A tenant at a glance, read without scanning: unfinished messages and DLQ entries now,
    and log events so far by state (e.g. `events["DELIVERED"]`), since the last reset."""

    unfinished: int = 0
    dlq: int = 0
    events: dict[str, int] = field(default_factory=dict)


# setattr: mypy refuses an assignment to a method, and keeps checking calls against the
# dataclass's own signature, which the generated one repeats
for _made_often in (Message, Response, LogEvent, DeliveryRecord):
    setattr(_made_often, "__init__", _slot_init(_made_often))  # noqa: B010
