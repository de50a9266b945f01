"""Schedules as values: a cron expression and the message each trigger publishes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..model import Message


class ScheduleState(StrEnum):
    """The run states of `lastScheduleStates`."""

    IN_PROGRESS = "IN_PROGRESS"
    SUCCESS = "SUCCESS"
    FAIL = "FAIL"


@dataclass(frozen=True, slots=True)
class Schedule:
    """A cron schedule: each trigger publishes a copy of `template` to `destination`."""

    tenant: str
    schedule_id: str
    destination: str
    cron: str
    template: Message
    created_at_ms: int
    delay_s: int = 0
    paused: bool = False
    next_at_ms: int | None = None
    last_at_ms: int | None = None
    last_message_ids: tuple[str, ...] = ()
    error: str | None = None
