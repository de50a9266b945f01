"""The Redis workflow store: runs, histories, waiters and held events, shared by restarts and
instances.

Key layout (`P` is the prefix; `T`, `R`, `E` a tenant, run id and event id with `%`, `:` and
newlines escaped):

    P:t:T:wf:runs             set of the tenant's runs (R)
    P:t:T:wf:ended            zset of the runs that ended (R) by end time; the oldest trimmed
    P:t:T:wf:run:R            hash: run -> JSON, live -> 1 | 0, key -> its order key,
                              state -> its state, steps -> step messages in its history
    P:t:T:wf:order            zset (all scores 0) of order keys "<created ms, 15 digits>:R",
                              newest last; P:t:T:wf:by:<state> the same for one state
    P:t:T:wf:hist:R           list of history items (JSON), P:t:T:wf:seen:R their message ids
    P:t:T:wf:msgs:R           list of the run's message ids
    P:t:T:wf:held:R           hash event id -> data notified before the run waited
    P:t:T:wf:wait:E           hash "R\\n<waiter id>" -> waiter JSON
    P:t:T:wf:waits:R          hash "E\\n<waiter id>" -> waiter JSON (the run's waiters)
    P:wf:deadlines            zset "T\\nE\\nR\\n<waiter id>" scored by deadline (ms)
"""

from __future__ import annotations

from typing import Any

from redis.commands.core import Script

from ...core.workflows.model import (
    ORDER_KEY_DIGITS,
    CallType,
    HistoryItem,
    Run,
    RunPage,
    RunState,
    RunSummary,
    Waiter,
    order_key,
)
from . import workflow_lua as lua
from .base import glob_escape, tenant_segment, text
from .codec import decode, encode


class RedisWorkflowStore:
    """Workflow runs and waiters in Redis under `prefix` (the message store's prefix).

    >>> store = RedisWorkflowStore(redis.Redis(), prefix="my-tests")  # doctest: +SKIP
    """

    def __init__(self, client: Any, *, prefix: str, max_ended_runs: int = 10_000) -> None:
        self.client = client
        self.prefix = prefix
        self._max_ended = max_ended_runs
        self._create_run = Script(client, lua.CREATE_RUN)
        self._put_run = Script(client, lua.PUT_RUN)
        self._append_history = Script(client, lua.APPEND_HISTORY)
        self._put_history = Script(client, lua.PUT_HISTORY)
        self._take_waiters = Script(client, lua.TAKE_WAITERS)
        self._pop_due = Script(client, lua.POP_DUE_WAITERS)

    # keys
    def _key(self, tenant: str, kind: str, name: str = "") -> str:
        tail = f":{tenant_segment(name)}" if name else ""
        return f"{self.prefix}:t:{tenant_segment(tenant)}:wf:{kind}{tail}"

    def _run_keys(self, tenant: str, run_id: str) -> list[str]:
        return [self._key(tenant, kind, run_id)
                for kind in ("run", "hist", "seen", "msgs", "held")]

    @property
    def _deadlines(self) -> str:
        return f"{self.prefix}:wf:deadlines"

    @staticmethod
    def _field(waiter: Waiter) -> str:
        return f"{tenant_segment(waiter.run_id)}\n{waiter.waiter_id}"

    def _member_prefix(self, tenant: str, event_id: str) -> str:
        return f"{tenant_segment(tenant)}\n{tenant_segment(event_id)}\n"

    @staticmethod
    def _order_key(run: Run) -> str:
        return order_key(run.created_at_ms, tenant_segment(run.run_id))

    # runs
    def create_run(self, run: Run) -> Run | None:
        run_key, hist, seen, msgs, held = self._run_keys(run.tenant, run.run_id)
        keys = [run_key, self._key(run.tenant, "runs"), hist, seen, msgs, held,
                self._key(run.tenant, "ended"), self._key(run.tenant, "waits", run.run_id),
                self._key(run.tenant, "order")]
        live = self._create_run(keys=keys, args=[
            tenant_segment(run.run_id), encode(run), self._order_key(run),
            self._key(run.tenant, ""), run.state.value])
        return None if live is None else decode(Run, live)

    def put_run(self, run: Run) -> None:
        keys = [self._key(run.tenant, "run", run.run_id), self._key(run.tenant, "runs"),
                self._key(run.tenant, "ended"), self._key(run.tenant, "order")]
        self._put_run(keys=keys, args=[
            tenant_segment(run.run_id), encode(run), "1" if run.live else "0",
            run.completed_at_ms or 0, self._max_ended, self._key(run.tenant, ""),
            self._order_key(run), run.state.value])

    def get_run(self, tenant: str, run_id: str) -> Run | None:
        raw = self.client.hget(self._key(tenant, "run", run_id), "run")
        return None if raw is None else decode(Run, raw)

    def runs(self, tenant: str) -> list[Run]:
        segments = [text(raw) for raw in self.client.smembers(self._key(tenant, "runs"))]
        pipe = self.client.pipeline(transaction=False)
        for segment in segments:
            pipe.hget(self._key(tenant, "run:" + segment), "run")
        return [decode(Run, raw) for raw in pipe.execute() if raw is not None]

    def run_page(self, tenant: str, state: RunState | None, after: str | None, limit: int
                 ) -> RunPage:
        index = self._key(tenant, "order") if state is None else self._key(
            tenant, "by", state.value)
        keys = [text(raw) for raw in self.client.zrevrangebylex(
            index, "+" if after is None else "(" + after, "-", start=0, num=limit + 1)]
        pipe = self.client.pipeline(transaction=False)
        for key in keys[:limit]:
            pipe.hmget(self._key(tenant, "run:" + key[ORDER_KEY_DIGITS + 1:]), "run", "steps")
        found = [RunSummary(decode(Run, raw), int(steps or 0))
                 for raw, steps in pipe.execute() if raw is not None]
        return RunPage(found, keys[limit - 1] if len(keys) > limit else None)

    def run_counts(self, tenant: str) -> dict[RunState, int]:
        pipe = self.client.pipeline(transaction=False)
        for state in RunState:
            pipe.zcard(self._key(tenant, "by", state.value))
        return dict(zip(RunState, map(int, pipe.execute()), strict=True))

    # history and messages
    def append_history(self, tenant: str, run_id: str, item: HistoryItem) -> list[HistoryItem]:
        raw = self._append_history(
            keys=[self._key(tenant, "hist", run_id), self._key(tenant, "seen", run_id),
                  self._key(tenant, "run", run_id)],
            args=[item.message_id, encode(item), "1" if item.call_type == CallType.STEP else "0"])
        return [decode(HistoryItem, entry) for entry in raw]

    def history(self, tenant: str, run_id: str) -> list[HistoryItem]:
        raw = self.client.lrange(self._key(tenant, "hist", run_id), 0, -1)
        return [decode(HistoryItem, entry) for entry in raw]

    def put_history(self, tenant: str, run_id: str, items: list[HistoryItem]) -> None:
        steps = sum(item.call_type == CallType.STEP for item in items)
        pairs = [part for item in items for part in (encode(item), item.message_id)]
        self._put_history(keys=[self._key(tenant, "hist", run_id),
                                self._key(tenant, "seen", run_id),
                                self._key(tenant, "run", run_id)], args=[steps, *pairs])

    def add_run_message(self, tenant: str, run_id: str, message_id: str) -> None:
        self.client.rpush(self._key(tenant, "msgs", run_id), message_id)

    def run_messages(self, tenant: str, run_id: str) -> list[str]:
        return [text(raw) for raw in self.client.lrange(self._key(tenant, "msgs", run_id),
                                                         0, -1)]

    # waiters
    def put_waiter(self, waiter: Waiter) -> None:
        field = self._field(waiter)
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(self._key(waiter.tenant, "wait", waiter.event_id), field, encode(waiter))
        pipe.hset(self._key(waiter.tenant, "waits", waiter.run_id),
                  f"{tenant_segment(waiter.event_id)}\n{waiter.waiter_id}", encode(waiter))
        pipe.zadd(self._deadlines, {self._member_prefix(waiter.tenant, waiter.event_id) + field:
                                    waiter.deadline_ms})
        pipe.execute()

    def waiters(self, tenant: str, event_id: str) -> list[Waiter]:
        raw = self.client.hvals(self._key(tenant, "wait", event_id))
        return [decode(Waiter, entry) for entry in raw]

    def run_waiters(self, tenant: str, run_id: str) -> list[Waiter]:
        raw = self.client.hvals(self._key(tenant, "waits", run_id))
        return [decode(Waiter, entry) for entry in raw]

    def take_waiters(self, tenant: str, event_id: str, run_id: str | None) -> list[Waiter]:
        raw = self._take_waiters(
            keys=[self._key(tenant, "wait", event_id), self._deadlines],
            args=[tenant_segment(run_id) if run_id else "",
                  self._member_prefix(tenant, event_id), self._key(tenant, ""),
                  tenant_segment(event_id)])
        return [decode(Waiter, entry) for entry in raw]

    def pop_due_waiters(self, now_ms: int, limit: int) -> list[Waiter]:
        raw = self._pop_due(keys=[self._deadlines], args=[now_ms, limit, self.prefix])
        return [decode(Waiter, entry) for entry in raw]

    def next_waiter_deadline_ms(self) -> int | None:
        first = self.client.zrange(self._deadlines, 0, 0, withscores=True)
        return int(first[0][1]) if first else None

    # held events
    def hold_event(self, tenant: str, run_id: str, event_id: str, data: bytes) -> None:
        self.client.hset(self._key(tenant, "held", run_id), event_id, data)

    def take_held_event(self, tenant: str, run_id: str, event_id: str) -> bytes | None:
        pipe = self.client.pipeline(transaction=True)
        pipe.hget(self._key(tenant, "held", run_id), event_id)
        pipe.hdel(self._key(tenant, "held", run_id), event_id)
        data, _ = pipe.execute()
        return None if data is None else bytes(data)

    def drop_held_events(self, tenant: str, run_id: str) -> None:
        self.client.delete(self._key(tenant, "held", run_id))

    def reset(self, tenant: str | None) -> None:
        segment = "*" if tenant is None else glob_escape(tenant_segment(tenant))
        keys = list(self.client.scan_iter(match=f"{glob_escape(self.prefix)}:t:{segment}:wf:*",
                                          count=1000))
        for start in range(0, len(keys), 500):
            self.client.delete(*keys[start:start + 500])
        if tenant is None:
            self.client.delete(self._deadlines)
            return
        owned = [m for m in self.client.zrange(self._deadlines, 0, -1)
                 if text(m).startswith(tenant_segment(tenant) + "\n")]
        if owned:
            self.client.zrem(self._deadlines, *owned)
