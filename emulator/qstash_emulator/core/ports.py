"""The small protocols that the core depends on; implementations live at the edges."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from .gating.rules import Gate
from .model import (
    DeliveryRecord,
    DeliveryRequest,
    DlqEntry,
    LogEvent,
    Message,
    MessageCounts,
    QuotaSettings,
    Response,
    SigningKeys,
    Usage,
)
from .schedules.model import Schedule
from .url_groups.model import UrlGroup


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


class QuotaBook(Protocol):
    """Per-tenant quota settings and usage counters (`key` numbers the window: day, month...)."""

    def quota_settings(self, tenant: str) -> QuotaSettings | None: ...

    def put_quota_settings(self, tenant: str, settings: QuotaSettings) -> None: ...

    def quota_tenants(self) -> list[str]: ...

    def usage(self, tenant: str, window: str, key: int) -> Usage: ...

    def add_usage(self, tenant: str, window: str, key: int, count: int) -> int:
        """Count `count` more in that window (atomically); return the new total."""
        ...

    def charge_usage(self, tenant: str, windows: Sequence[tuple[str, int]], count: int) -> None:
        """`add_usage` for several windows at once (one round trip for a remote store)."""
        ...

    def mark_exhausted(self, tenant: str, window: str, key: int, used: int) -> None: ...

    def clear_usage(self, tenant: str | None) -> None: ...

    def forget_quota(self, tenant: str | None) -> None: ...


class Browsing(Protocol):
    """Reads for the dashboard that stay cheap with a large store: counters kept on every
    write, and newest-first pages read by position (O(page), never the whole history)."""

    def message_counts(self, tenant: str) -> MessageCounts: ...

    def message_page(self, tenant: str, finished: bool, start: int, count: int
                     ) -> list[Message]:
        """Unfinished (or finished) messages, newest first (by when they were first stored,
        finished ones by when they finished), positions `start` to `start + count - 1`."""
        ...

    def log_page(self, tenant: str, start: int, count: int) -> list[LogEvent]:
        """Log events newest first, positions `start` to `start + count - 1`."""
        ...


class Store(QuotaBook, Browsing, Protocol):
    """Everything the emulator keeps, per tenant. Every method is atomic."""

    name: str
    poll_s: float | None
    """How often a scheduler must look for work that other processes added (None: never)."""

    def put_message(self, message: Message) -> None: ...

    def get_message(self, tenant: str, message_id: str) -> Message | None: ...

    def get_messages(self, wanted: Sequence[tuple[str, str]]) -> list[Message | None]:
        """`get_message` for each (tenant, message id) pair, in one round trip."""
        ...

    def active_messages(self, tenant: str) -> Iterable[Message]: ...

    def pop_due(self, now_ms: int, limit: int) -> list[Message]: ...

    def next_due_ms(self) -> int | None: ...

    def release(self, tenant: str, message_id: str, now_ms: int) -> None:
        """Give up an attempt this process took with `pop_due` but could not complete: if the
        message is still unfinished it is due again at `now_ms` (and pending when popped)."""
        ...

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

    def delivery_tenants(self) -> list[str]:
        """Every tenant with delivery records (whichever process made them)."""
        ...

    def reset(self, tenant: str | None) -> None: ...

    # schedules and URL groups (values replaced whole; reset clears them too)
    def put_schedule(self, schedule: Schedule) -> None: ...

    def get_schedule(self, tenant: str, schedule_id: str) -> Schedule | None: ...

    def delete_schedule(self, tenant: str, schedule_id: str) -> bool: ...

    def schedules(self, tenant: str) -> Sequence[Schedule]: ...

    def all_schedules(self) -> Iterable[Schedule]:
        """Every tenant's schedules (to rebuild the trigger index)."""
        ...

    def put_url_group(self, group: UrlGroup) -> None: ...

    def get_url_group(self, tenant: str, name: str) -> UrlGroup | None: ...

    def delete_url_group(self, tenant: str, name: str) -> bool: ...

    def url_groups(self, tenant: str) -> Sequence[UrlGroup]: ...

    def get_meta(self, name: str) -> str | None:
        """An emulator-wide value (e.g. the virtual clock's time); kept across reset."""
        ...

    def set_meta(self, name: str, value: str) -> None: ...

    def close(self) -> None:
        """Release what this process holds (connections, claims on due work)."""
        ...

    def deferred(self) -> AbstractContextManager[None]:
        """Within it, a remote store may hold back writes (messages, logs, usage) to send them
        together; this process still reads what it wrote."""
        ...

    async def commit(self) -> None:
        """Return once every write held back so far is stored."""
        ...

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

    def gate_lock(self) -> AbstractContextManager[None]:
        """Held around every read-modify-write of gates (re-entrant; a no-op in one process)."""
        ...
