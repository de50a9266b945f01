"""The small protocols that the core depends on; implementations live at the edges."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from .gates import Gate
from .model import (
    DeliveryRecord,
    DeliveryRequest,
    DlqEntry,
    LogEvent,
    Message,
    Response,
    SigningKeys,
)


class Clock(Protocol):
    """Emulator time (`now`, unix seconds) plus the wall time that signatures must use."""

    @property
    def virtual(self) -> bool: ...

    def now(self) -> float: ...

    def now_ms(self) -> int:
        """Emulator time in whole milliseconds, never rounded up."""
        ...

    def wall(self) -> float: ...

    def wall_seconds(self, emulator_seconds: float) -> float:
        """How long `emulator_seconds` of emulator time last on the wall clock."""
        ...


class Ticker(Protocol):
    """Timed work other than message attempts (e.g. schedule triggers), run by the scheduler."""

    def next_due_ms(self) -> int | None: ...

    def fire_due(self, now_ms: int) -> int:
        """Do everything due at or before `now_ms`; return how much was done."""
        ...


class IdSource(Protocol):
    def new_id(self, prefix: str) -> str: ...


class Dispatcher(Protocol):
    async def dispatch(self, request: DeliveryRequest) -> Response: ...

    async def aclose(self) -> None: ...


class Store(Protocol):
    """Everything the emulator keeps, per tenant. Every method is atomic."""

    name: str

    def put_message(self, message: Message) -> None: ...

    def get_message(self, tenant: str, message_id: str) -> Message | None: ...

    def active_messages(self, tenant: str) -> Iterable[Message]: ...

    def pop_due(self, now_ms: int, limit: int) -> list[Message]: ...

    def next_due_ms(self) -> int | None: ...

    def claim_dedup(
        self, tenant: str, key: str, message_id: str, now_ms: int, window_ms: int
    ) -> str | None: ...

    def next_seq(self) -> int: ...

    def append_log(self, tenant: str, event: LogEvent) -> None: ...

    def logs(self, tenant: str) -> Sequence[LogEvent]: ...

    def put_dlq(self, tenant: str, entry: DlqEntry) -> None: ...

    def get_dlq(self, tenant: str, dlq_id: str) -> DlqEntry | None: ...

    def delete_dlq(self, tenant: str, dlq_id: str) -> bool: ...

    def dlq(self, tenant: str) -> Sequence[DlqEntry]: ...

    def get_keys(self, tenant: str) -> SigningKeys | None: ...

    def set_keys(self, tenant: str, keys: SigningKeys) -> None: ...

    def append_delivery(self, record: DeliveryRecord) -> None: ...

    def deliveries(self, tenant: str) -> Sequence[DeliveryRecord]: ...

    def reset(self, tenant: str | None) -> None: ...

    # gates: queues and flow-control keys (kind is a GateKind value)
    def get_gate(self, tenant: str, kind: str, name: str) -> Gate | None: ...

    def put_gate(self, tenant: str, gate: Gate) -> None:
        """Store the gate; a new `wake_at_ms` makes it show up in `pop_gate_wakes` then."""
        ...

    def delete_gate(self, tenant: str, kind: str, name: str) -> None:
        """Forget the gate and its wait list."""
        ...

    def gates(self, tenant: str, kind: str) -> Sequence[Gate]: ...

    def push_waiting(self, tenant: str, kind: str, name: str, message_id: str) -> None: ...

    def pop_waiting(self, tenant: str, kind: str, name: str) -> str | None: ...

    def waiting(self, tenant: str, kind: str, name: str) -> Sequence[str]: ...

    def pop_gate_wakes(self, now_ms: int) -> list[tuple[str, str, str]]:
        """(tenant, kind, name) of every gate whose `wake_at_ms` is at or before `now_ms`."""
        ...

    def next_gate_wake_ms(self) -> int | None: ...
