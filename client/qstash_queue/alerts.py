"""Alerts: QStash usage crossing a threshold, fallback episodes starting and ending.

Each alert goes to the queue's `on_alert` callback (if any) and to a WARNING log record whose
`alert` attribute holds the structured fields (`event` first). Fallback alerts are logged on
`qstash_queue.fallback` (the record also has them as `fallback`), usage alerts on
`qstash_queue.usage`. A callback that raises is logged and never breaks an enqueue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class AlertEvent(StrEnum):
    """What an alert is about."""

    USAGE_THRESHOLD = "qstash_usage_threshold"
    FALLBACK_STARTED = "qstash_fallback_started"
    FALLBACK_ENDED = "qstash_fallback_ended"


@dataclass(frozen=True)
class Alert:
    """One alert: its event, a readable message and the structured details."""

    event: AlertEvent
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        return {"event": self.event.value, **self.details}


AlertHandler = Callable[[Alert], None]

_LOGGERS = {
    AlertEvent.USAGE_THRESHOLD: logging.getLogger("qstash_queue.usage"),
    AlertEvent.FALLBACK_STARTED: logging.getLogger("qstash_queue.fallback"),
    AlertEvent.FALLBACK_ENDED: logging.getLogger("qstash_queue.fallback"),
}


class AlertSink:
    """Sends alerts to the log and to the user's handler."""

    def __init__(self, handler: AlertHandler | None = None) -> None:
        self.handler = handler

    def emit(self, alert: Alert) -> None:
        fields = alert.fields()
        extra: dict[str, Any] = {"alert": fields}
        if alert.event is not AlertEvent.USAGE_THRESHOLD:
            extra["fallback"] = fields
        logger = _LOGGERS[alert.event]
        logger.warning("%s", alert.message, extra=extra)
        if self.handler is None:
            return
        try:
            self.handler(alert)
        except Exception:
            logger.exception("the on_alert handler failed on %s", alert.event.value)
