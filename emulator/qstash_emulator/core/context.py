"""What every message feature shares: the message and history areas of the store, time, ids,
emulator-wide limits, and the two writes every message change makes (store the new version,
log the event). Other areas are handed to the features that use them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import protocol as p
from .messages.lifecycle import check_transition
from .model import LogEvent, Message, Response, State, changed
from .ports import Clock, HistoryStore, IdSource, MessageStore


@dataclass(frozen=True, slots=True)
class Limits:
    """Emulator-wide limits that no plan changes."""

    max_body_bytes: int = 10 * 1024 * 1024
    max_timeout_s: int = 2 * 3600
    dedup_window_s: int = 10 * 60


@dataclass(slots=True)
class Context:
    messages: MessageStore
    history: HistoryStore
    clock: Clock
    ids: IdSource
    limits: Limits = field(default_factory=Limits)
    region: str = p.REGION_NAME
    """The region this QStash runs in (`Upstash-Region` on every delivery)."""
    wake: Callable[[int | None], None] = lambda due_at_ms: None
    """Tell the scheduler about new work (due at that time; None: look at everything)."""

    def now_ms(self) -> int:
        return self.clock.now_ms()

    def arrival_ms(self) -> int:
        """Now, rounded up to a whole millisecond on a real clock (`now_ms` rounds down): a
        delay counted from it never ends before the same delay counted by the sender."""
        now_ms = self.clock.now_ms()
        if not self.clock.virtual and self.clock.now() * 1000 > now_ms:
            return now_ms + 1
        return now_ms

    def log(
        self,
        message: Message,
        state: State,
        *,
        error: str | None = None,
        next_delivery_ms: int | None = None,
        response: Response | None = None,
    ) -> None:
        event = LogEvent(
            seq=self.history.next_seq(),
            time_ms=self.now_ms(),
            state=state,
            message=message,
            error=error,
            next_delivery_ms=next_delivery_ms,
            response=response,
        )
        self.history.append_log(message.tenant, event)

    def save(self, message: Message, state: State, **changes: object) -> Message:
        """Store a copy of `message` in `state`, with other field changes."""
        check_transition(message.state, state)
        updated = changed(message, state=state, **changes)
        self.messages.put_message(updated)
        return updated

    def new_dlq_id(self) -> str:
        return f"{self.now_ms()}-{self.history.next_seq()}"
