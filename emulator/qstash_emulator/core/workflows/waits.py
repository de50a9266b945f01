"""`context.waitForEvent` and notify: waiters, events held for a run that waits later, and
the timeouts (a `Ticker` on the emulator's clock)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import protocol as p
from ..context import Context
from ..durations import InvalidDuration, parse_duration_s
from ..errors import BadRequest
from ..messages.publish import PublishRequest
from .desk import Desk
from .headers import step_ref
from .history import b64
from .invoke import first_values
from .model import Waiter
from .ports import WorkflowStore
from .runs import RunBook

DUE_BATCH = 100


@dataclass(frozen=True, slots=True)
class Notified:
    """One waiter woken by a notify, and the message that carries the event to it."""

    waiter: Waiter
    message_id: str


class Waits:
    def __init__(self, ctx: Context, store: WorkflowStore, book: RunBook, desk: Desk) -> None:
        self.ctx = ctx
        self.store = store
        self.book = book
        self.desk = desk

    def wait(self, tenant: str, event_id: str, headers: Mapping[str, str], payload: object
             ) -> None:
        """`POST /v2/wait/{eventId}`: the run waits, or gets an event held for it at once."""
        ref = step_ref(headers)
        if ref is None:
            raise BadRequest(p.WORKFLOW_NEEDS_RUN_ID)
        run = self.book.live_run(tenant, ref.run_id)
        waiter = parse_wait(payload, tenant, event_id, run.run_id, _publish_headers(headers),
                            self.ctx.now_ms(), self.ctx.ids.new_id("wtr"))
        held = self.store.take_held_event(tenant, run.run_id, event_id)
        if held is not None:
            self.desk.try_publish(tenant, woken(waiter, held))
            return
        self.store.put_waiter(waiter)
        self.ctx.wake(waiter.deadline_ms)

    def notify(self, tenant: str, event_id: str, data: bytes) -> list[Notified]:
        """Wake every live waiter of the event with `data`."""
        return self._wake_all(self.store.take_waiters(tenant, event_id, None), data)

    def notify_run(self, tenant: str, run_id: str, event_id: str, data: bytes
                   ) -> Notified | None:
        """Wake the run's waiter of the event, or hold the event until the run waits for it."""
        self.book.live_run(tenant, run_id)
        notified = self._wake_all(self.store.take_waiters(tenant, event_id, run_id), data)
        if not notified:
            self.store.hold_event(tenant, run_id, event_id, data)
            return None
        return notified[0]

    def _wake_all(self, waiters: list[Waiter], data: bytes) -> list[Notified]:
        notified = []
        for waiter in waiters:
            message_id = self.desk.try_publish(waiter.tenant, woken(waiter, data))
            if message_id is not None:
                notified.append(Notified(waiter, message_id))
        return notified

    def waiters(self, tenant: str, event_id: str) -> list[Waiter]:
        return [w for w in self.store.waiters(tenant, event_id) if self._live(w)]

    def _live(self, waiter: Waiter) -> bool:
        run = self.store.get_run(waiter.tenant, waiter.run_id)
        return run is not None and run.live

    # Ticker: waits that time out
    def next_due_ms(self) -> int | None:
        return self.store.next_waiter_deadline_ms()

    def fire_due(self, now_ms: int) -> int:
        fired = 0
        while due := self.store.pop_due_waiters(now_ms, DUE_BATCH):
            for waiter in due:
                fired += self.desk.try_publish(waiter.tenant, timed_out(waiter)) is not None
        return fired


def parse_wait(payload: object, tenant: str, event_id: str, run_id: str,
               headers: dict[str, str], now_ms: int, waiter_id: str) -> Waiter:
    """A waiter from `{url, timeout, timeoutUrl, timeoutHeaders, step}`."""
    if not isinstance(payload, dict):
        raise BadRequest(p.WORKFLOW_WAIT_BODY.format(reason="want a JSON object"))
    url, step = payload.get("url"), payload.get("step")
    if not isinstance(url, str) or not url or not isinstance(step, dict):
        raise BadRequest(p.WORKFLOW_WAIT_BODY.format(reason="want url and step"))
    timeout = str(payload.get("timeout") or "7d")
    timeout_url = payload.get("timeoutUrl") or url
    if not isinstance(timeout_url, str):
        raise BadRequest(p.WORKFLOW_WAIT_BODY.format(reason="timeoutUrl must be a string"))
    timeout_headers = first_values(payload.get("timeoutHeaders")) or headers
    return Waiter(tenant, event_id, run_id, url, now_ms + _seconds(timeout) * 1000, timeout,
                  headers, timeout_url, timeout_headers, step, waiter_id)


def _seconds(timeout: str) -> int:
    try:
        return parse_duration_s(timeout)
    except InvalidDuration as exc:
        raise BadRequest(p.WORKFLOW_WAIT_BODY.format(reason=str(exc))) from exc


def _publish_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers of a wait request that publish its step (QStash's, and the content type)."""
    return {name: value for name, value in headers.items()
            if name.startswith(p.CONFIG_PREFIX) or name == p.CONTENT_TYPE}


def _step(waiter: Waiter, **fields: Any) -> bytes:
    step = {**waiter.step, "waitEventId": waiter.event_id, "timeout": waiter.timeout, **fields}
    return json.dumps(step, separators=(",", ":")).encode()


def woken(waiter: Waiter, data: bytes) -> PublishRequest:
    """The waiting step, delivered with the event's data (`out`, base64)."""
    return PublishRequest(waiter.url, waiter.headers,
                          _step(waiter, out=b64(data), waitTimeout=False))


def timed_out(waiter: Waiter) -> PublishRequest:
    """The waiting step, delivered without an event once its timeout passed."""
    return PublishRequest(waiter.timeout_url, waiter.timeout_headers,
                          _step(waiter, waitTimeout=True))
