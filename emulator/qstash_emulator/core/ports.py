"""The small protocols that the core depends on; implementations live at the edges.

The store is cut by area, one protocol each: messages (with the due index and dedup ids),
history, gates, usage, configuration and harness state. A feature is handed only the areas it
uses; `Store` bundles the areas with what belongs to the store as a whole (reset, close, write
batching). Every method of an area is atomic; units are in the names (`_ms`, `_at`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from .gating.rules import Gate
from .harness.model import Duplicate, FaultRule, HarnessState, Outage
from .model import (
    DeliveryRecord,
    DeliveryRequest,
    DlqEntry,
    LogEvent,
    Message,
    QuotaSettings,
    Response,
    SigningKeys,
    Usage,
)
from .schedules.model import Schedule
from .url_groups.model import UrlGroup
from .workflows.ports import WorkflowStore


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


# --- the store's areas ------------------------------------------------------------------------


class MessageStore(Protocol):
    """Messages by tenant and id, the index of when each pending one is due, and dedup ids."""

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
    ) -> str | None:
        """The id already holding `key` within its window, else claim it for `message_id`."""
        ...

    # reads that stay cheap with a large store (the dashboard)
    def unfinished_count(self, tenant: str) -> int: ...

    def message_page(self, tenant: str, finished: bool, start: int, count: int
                     ) -> list[Message]:
        """Unfinished (or finished) messages, newest first (by when they were first stored,
        finished ones by when they finished), positions `start` to `start + count - 1`."""
        ...


class HistoryStore(Protocol):
    """What happened: log events, DLQ entries, delivery records and their sequence numbers."""

    def next_seq(self) -> int: ...

    def append_log(self, tenant: str, event: LogEvent) -> None: ...

    def logs(self, tenant: str) -> Sequence[LogEvent]: ...

    def put_dlq(self, tenant: str, entry: DlqEntry) -> None: ...

    def get_dlq(self, tenant: str, dlq_id: str) -> DlqEntry | None: ...

    def delete_dlq(self, tenant: str, dlq_id: str) -> bool: ...

    def dlq(self, tenant: str) -> Sequence[DlqEntry]: ...

    def append_delivery(self, record: DeliveryRecord) -> None: ...

    def deliveries(self, tenant: str) -> Sequence[DeliveryRecord]: ...

    def delivery_tenants(self) -> list[str]:
        """Every tenant with delivery records (whichever process made them)."""
        ...

    # counters kept on every write, and pages read by position (the dashboard)
    def dlq_count(self, tenant: str) -> int: ...

    def event_counts(self, tenant: str) -> dict[str, int]:
        """Log events so far by state (e.g. `{"DELIVERED": 3}`), since the last reset."""
        ...

    def log_page(self, tenant: str, start: int, count: int) -> list[LogEvent]:
        """Log events newest first, positions `start` to `start + count - 1`."""
        ...


class GateStore(Protocol):
    """Queues and flow-control keys (`kind` is a GateKind value), their wait lists and wakes."""

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


class PlanSettingsStore(Protocol):
    """Each tenant's own plan and limit overrides."""

    def quota_settings(self, tenant: str) -> QuotaSettings | None: ...

    def put_quota_settings(self, tenant: str, settings: QuotaSettings) -> None: ...


class UsageStore(PlanSettingsStore, Protocol):
    """Plan settings plus usage counters per window (`key` numbers it: day, month...)."""

    def quota_tenants(self) -> list[str]: ...

    def usage(self, tenant: str, window: str, key: int) -> Usage: ...

    def add_usage(self, tenant: str, window: str, key: int, count: int) -> int:
        """Count `count` more in that window; return the new total."""
        ...

    def charge_usage(self, tenant: str, windows: Sequence[tuple[str, int]], count: int) -> None:
        """`add_usage` for several windows at once (one round trip for a remote store)."""
        ...

    def mark_exhausted(self, tenant: str, window: str, key: int, used: int) -> None: ...

    def clear_usage(self, tenant: str | None) -> None: ...

    def forget_quota(self, tenant: str | None) -> None: ...


class ScheduleStore(Protocol):
    def put_schedule(self, schedule: Schedule) -> None: ...

    def get_schedule(self, tenant: str, schedule_id: str) -> Schedule | None: ...

    def delete_schedule(self, tenant: str, schedule_id: str) -> bool: ...

    def schedules(self, tenant: str) -> Sequence[Schedule]: ...

    def all_schedules(self) -> Iterable[Schedule]:
        """Every tenant's schedules (to rebuild the trigger index)."""
        ...


class UrlGroupStore(Protocol):
    def put_url_group(self, group: UrlGroup) -> None: ...

    def get_url_group(self, tenant: str, name: str) -> UrlGroup | None: ...

    def delete_url_group(self, tenant: str, name: str) -> bool: ...

    def url_groups(self, tenant: str) -> Sequence[UrlGroup]: ...


class KeyStore(Protocol):
    def get_keys(self, tenant: str) -> SigningKeys | None: ...

    def set_keys(self, tenant: str, keys: SigningKeys) -> None: ...


class MetaStore(Protocol):
    def get_meta(self, name: str) -> str | None:
        """An emulator-wide value (e.g. the virtual clock's time); kept across reset."""
        ...

    def set_meta(self, name: str, value: str) -> None: ...


class ConfigStore(ScheduleStore, UrlGroupStore, KeyStore, MetaStore, Protocol):
    """Configuration: schedules, URL groups and signing keys per tenant; emulator-wide values."""


class HarnessStore(Protocol):
    """Fault rules and their progress, pending duplicate deliveries and outages: one set for
    every instance sharing the store."""

    def harness_state(self) -> HarnessState: ...

    def new_fault_number(self) -> int:
        """1, 2, 3... (never the same twice on one store), to name rules."""
        ...

    def put_fault(self, rule: FaultRule) -> None: ...

    def delete_faults(self, rule_ids: Sequence[str]) -> int:
        """Forget the rules and their counters; return how many there were."""
        ...

    def advance_fault(self, rule_id: str, counter: str) -> int:
        """Add one to the rule's named counter and return it (1 the first time); 0 when the
        rule is gone."""
        ...

    def add_duplicate(self, duplicate: Duplicate) -> None: ...

    def pop_duplicates(self, now_ms: int) -> list[Duplicate]:
        """Take every duplicate due at or before `now_ms` (each is taken once, by one caller)."""
        ...

    def clear_duplicates(self) -> None: ...

    def start_outage(self, outage: Outage) -> None:
        """Start `outage`, replacing the one of the same tenant (of every tenant with None)."""
        ...

    def end_outage(self, tenant: str | None) -> bool: ...

    def end_all_outages(self) -> int: ...

    def take_outage(self, outage: Outage) -> int | None:
        """Use up one request of a counted outage: how many it has left (it ends at 0), or
        None when it is over or another outage replaced it."""
        ...


class Store(Protocol):
    """Everything the emulator keeps, per tenant, as one object per area."""

    @property
    def name(self) -> str: ...

    @property
    def poll_s(self) -> float | None:
        """How often a scheduler must look for work that other processes added (None: never,
        as no other process shares this store)."""
        ...

    @property
    def messages(self) -> MessageStore: ...

    @property
    def history(self) -> HistoryStore: ...

    @property
    def gates(self) -> GateStore: ...

    @property
    def usage(self) -> UsageStore: ...

    @property
    def config(self) -> ConfigStore: ...

    @property
    def harness(self) -> HarnessStore: ...

    @property
    def workflows(self) -> WorkflowStore: ...

    def reset(self, tenant: str | None) -> None:
        """Forget everything of one tenant (every tenant with None) in every area, except the
        emulator-wide values (`get_meta`)."""
        ...

    def close(self) -> None:
        """Release what this process holds (connections, claims on due work)."""
        ...

    @property
    def holds_writes(self) -> bool:
        """Whether `deferred` may hold writes back (False: every write is stored as it is made,
        and `deferred` and `commit` do nothing)."""
        ...

    def deferred(self) -> AbstractContextManager[None]:
        """Within it, a remote store may hold back writes (messages, logs, usage) to send them
        together; this process still reads what it wrote."""
        ...

    async def commit(self) -> None:
        """Return once every write held back so far is stored."""
        ...
