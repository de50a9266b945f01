"""Cron schedules: create (upsert), read, pause, resume, delete, and the trigger ticker.

Each trigger publishes a copy of the schedule's message template (new id, `schedule_id` set)
to the destination, fanning out over a URL group's endpoints. Triggers run on the emulator's
clock through the scheduler's `Ticker` hook: `next_due_ms()` tells the scheduler (and a virtual
`advance`) when the next one is due, `fire_due()` fires every trigger up to now, once per
elapsed period.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import replace

from .. import protocol as p
from ..context import Context
from ..errors import BadRequest, EmulatorError, NotFound, PreconditionFailed
from ..messages.parse import NAME_PATTERN, parse_destination
from ..messages.publish import Publisher, PublishRequest
from ..model import State
from ..plans import Plans
from ..ports import ScheduleStore, UrlGroupStore
from ..url_groups.url_groups import targets
from .cron import parse_cron
from .model import Schedule, ScheduleState

RUN_STATES = {State.DELIVERED: ScheduleState.SUCCESS, State.FAILED: ScheduleState.FAIL,
              State.CANCELED: ScheduleState.FAIL}


class Schedules:
    """Every schedule operation, plus the `Ticker` that fires triggers when due."""

    def __init__(
        self, ctx: Context, schedule_store: ScheduleStore, url_group_store: UrlGroupStore,
        publisher: Publisher, plans: Plans,
    ) -> None:
        self.ctx = ctx
        self.schedule_store = schedule_store
        self.url_group_store = url_group_store
        self.publisher = publisher
        self.plans = plans
        self._due: list[tuple[int, int, str, str]] = []
        self._counter = itertools.count()
        self._loaded = False

    # API
    def create(
        self, tenant: str, request: PublishRequest, caller_ip: str | None
    ) -> Schedule:
        """Create, or overwrite the schedule with the same `Upstash-Schedule-Id`."""
        headers = request.headers
        cron = parse_cron(headers.get(p.CRON))
        schedule_id = _schedule_id(headers.get(p.SCHEDULE_ID_HEADER))
        if p.NOT_BEFORE in headers:
            raise BadRequest(p.SCHEDULE_NOT_BEFORE)
        parsed = self.publisher.parse(tenant, request, caller_ip)
        queue = _queue_name(headers.get(p.QUEUE_NAME))
        now_ms = self.ctx.now_ms()
        next_at_ms = cron.next_after_ms(now_ms)
        schedule_id = schedule_id or self.ctx.ids.new_id("scd")
        self._check_limit(tenant, schedule_id)
        template = replace(parsed.template, queue_name=queue, schedule_id=schedule_id)
        schedule = Schedule(
            tenant=tenant,
            schedule_id=schedule_id,
            destination=parsed.destination.url or parsed.destination.url_group or "",
            cron=cron.source,
            template=template,
            created_at_ms=now_ms,
            delay_s=(template.not_before_ms - template.created_at_ms) // 1000,
            next_at_ms=next_at_ms,
        )
        self._save(schedule)
        return schedule

    def get(self, tenant: str, schedule_id: str) -> Schedule:
        schedule = self.schedule_store.get_schedule(tenant, schedule_id)
        if schedule is None:
            raise NotFound(p.SCHEDULE_NOT_FOUND.format(schedule_id=schedule_id))
        return schedule

    def list_all(self, tenant: str) -> list[Schedule]:
        return sorted(self.schedule_store.schedules(tenant), key=lambda s: s.created_at_ms)

    def delete(self, tenant: str, schedule_id: str) -> None:
        if not self.schedule_store.delete_schedule(tenant, schedule_id):
            raise NotFound(p.SCHEDULE_NOT_FOUND.format(schedule_id=schedule_id))

    def pause(self, tenant: str, schedule_id: str) -> None:
        """Stop triggering (idempotent); triggers that fall due while paused are skipped."""
        self.schedule_store.put_schedule(replace(self.get(tenant, schedule_id), paused=True))

    def resume(self, tenant: str, schedule_id: str) -> None:
        """Trigger again from the next cron time after now (idempotent)."""
        schedule = self.get(tenant, schedule_id)
        if not schedule.paused:
            return
        next_at_ms = parse_cron(schedule.cron).next_after_ms(self.ctx.now_ms())
        self._save(replace(schedule, paused=False, next_at_ms=next_at_ms))

    def next_runs(self, schedule: Schedule, count: int) -> list[int]:
        """The next `count` trigger times (unix ms); none while paused."""
        if schedule.paused or schedule.next_at_ms is None:
            return []
        cron = parse_cron(schedule.cron)
        runs = [schedule.next_at_ms]
        while len(runs) < count:
            runs.append(cron.next_after_ms(runs[-1]))
        return runs

    def run_states(self, schedule: Schedule) -> dict[str, ScheduleState]:
        """`lastScheduleStates`: each message of the last run, by its current state."""
        states: dict[str, ScheduleState] = {}
        for message_id in schedule.last_message_ids:
            message = self.ctx.messages.get_message(schedule.tenant, message_id)
            if message is not None:
                states[message_id] = RUN_STATES.get(message.state, ScheduleState.IN_PROGRESS)
        return states

    # Ticker
    def next_due_ms(self) -> int | None:
        due = self._index()
        while due:
            due_at, _, tenant, schedule_id = due[0]
            if self._live(tenant, schedule_id, due_at) is not None:
                return due_at
            heapq.heappop(due)
        return None

    def fire_due(self, now_ms: int) -> int:
        """Fire every trigger due at or before `now_ms`, once per elapsed cron time."""
        due = self._index()
        fired = 0
        while due and due[0][0] <= now_ms:
            due_at, _, tenant, schedule_id = heapq.heappop(due)
            schedule = self._live(tenant, schedule_id, due_at)
            if schedule is not None:
                self._trigger(schedule, due_at)
                fired += 1
        return fired

    # internals
    def _check_limit(self, tenant: str, schedule_id: str) -> None:
        if self.schedule_store.get_schedule(tenant, schedule_id) is not None:
            return
        limit = self.plans.limit(tenant, "schedules")
        if limit is not None and len(self.schedule_store.schedules(tenant)) >= limit:
            plan = self.plans.plan(tenant).name
            raise PreconditionFailed(p.TOO_MANY_SCHEDULES.format(plan=plan, limit=limit))

    def _trigger(self, schedule: Schedule, at_ms: int) -> None:
        message_ids: list[str] = []
        error = None
        try:
            message_ids = self._publish(schedule, at_ms)
        except EmulatorError as exc:
            error = exc.message
        try:
            next_at_ms: int | None = parse_cron(schedule.cron).next_after_ms(at_ms)
        except BadRequest:
            next_at_ms = None
        self._save(replace(schedule, last_at_ms=at_ms, next_at_ms=next_at_ms,
                           last_message_ids=tuple(message_ids), error=error))

    def _publish(self, schedule: Schedule, at_ms: int) -> list[str]:
        template = schedule.template
        not_before_ms = at_ms + schedule.delay_s * 1000
        ids = []
        destination = parse_destination(schedule.destination)
        for target in targets(self.url_group_store, schedule.tenant, destination):
            message = replace(
                template, message_id=self.ctx.ids.new_id("msg"), tenant=schedule.tenant,
                url=target.url, topic_name=target.topic_name, endpoint_name=target.endpoint_name,
                created_at_ms=at_ms, not_before_ms=not_before_ms, due_at_ms=not_before_ms,
            )
            self.publisher.store_new(message)
            ids.append(message.message_id)
        return ids

    def _save(self, schedule: Schedule) -> None:
        self.schedule_store.put_schedule(schedule)
        if schedule.next_at_ms is not None and not schedule.paused:
            self._index()
            self._push(schedule)
            self.ctx.wake(None)

    def _push(self, schedule: Schedule) -> None:
        entry = (schedule.next_at_ms or 0, next(self._counter), schedule.tenant,
                 schedule.schedule_id)
        heapq.heappush(self._due, entry)

    def _index(self) -> list[tuple[int, int, str, str]]:
        """The due heap (lazy deletion), built from the store on first use."""
        if not self._loaded:
            self._loaded = True
            for schedule in self.schedule_store.all_schedules():
                if schedule.next_at_ms is not None and not schedule.paused:
                    self._push(schedule)
        return self._due

    def _live(self, tenant: str, schedule_id: str, due_at: int) -> Schedule | None:
        schedule = self.schedule_store.get_schedule(tenant, schedule_id)
        if schedule is None or schedule.paused or schedule.next_at_ms != due_at:
            return None
        return schedule


def _schedule_id(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not NAME_PATTERN.match(raw):
        raise BadRequest(p.SCHEDULE_ID_INVALID.format(schedule_id=raw))
    return raw


def _queue_name(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not NAME_PATTERN.match(raw):
        raise BadRequest(p.QUEUE_NAME_INVALID.format(name=raw))
    return raw
