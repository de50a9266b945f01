"""The Redis workflow store: runs, histories, waiters and held events, shared by restarts and
instances.

Key layout (`P` is the prefix; `T`, `R`, `E` a tenant, run id and event id with `%`, `:` and
newlines escaped):

    P:t:T:wf:runs             set of the tenant's runs (R)
    P:t:T:wf:ended            zset of the runs that ended (R) by end time; the oldest trimmed
    P:t:T:wf:run:R            hash: run -> JSON, live -> 1 | 0
    P:t:T:wf:hist:R           list of history items (JSON), P:t:T:wf:seen:R their message ids
    P:t:T:wf:msgs:R           list of the run's message ids
    P:t:T:wf:held:R           hash event id -> data notified before the run waited
    P:t:T:wf:wait:E           hash "R\\n<waiter id>" -> waiter JSON
    P:wf:deadlines            zset "T\\nE\\nR\\n<waiter id>" scored by deadline (ms)
"""

from __future__ import annotations

from typing import Any

from redis.commands.core import Script

from ...core.workflows.model import HistoryItem, Run, Waiter
from .base import glob_escape, tenant_segment, text
from .codec import decode, encode

# KEYS: run, runs, hist, seen, msgs, held, ended; ARGV: run segment, run JSON
CREATE_RUN = """
if redis.call('HGET', KEYS[1], 'live') == '1' then return redis.call('HGET', KEYS[1], 'run') end
redis.call('DEL', KEYS[3], KEYS[4], KEYS[5], KEYS[6])
redis.call('HSET', KEYS[1], 'run', ARGV[2], 'live', '1')
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[7], ARGV[1])
return false
"""

# Store a run; one that ended joins the ended runs, of which the oldest beyond the limit go
# (with their history, messages and held events).
# KEYS: run, runs, ended; ARGV: run segment, run JSON, live (1 | 0), end time, limit, key base
PUT_RUN = """
redis.call('HSET', KEYS[1], 'run', ARGV[2], 'live', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[1])
if ARGV[3] == '1' then return 1 end
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
local over = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[5])
if over <= 0 then return 1 end
local old = redis.call('ZPOPMIN', KEYS[3], over)
for i = 1, #old, 2 do
  for _, kind in ipairs({'run:', 'hist:', 'seen:', 'msgs:', 'held:'}) do
    redis.call('DEL', ARGV[6] .. kind .. old[i])
  end
  redis.call('SREM', KEYS[2], old[i])
end
return 1
"""

# KEYS: hist, seen; ARGV: message id, item JSON
APPEND_HISTORY = """
if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then redis.call('RPUSH', KEYS[1], ARGV[2]) end
return redis.call('LRANGE', KEYS[1], 0, -1)
"""

# KEYS: waiters of the event, deadlines; ARGV: run segment ('' for all), deadline member prefix
TAKE_WAITERS = """
local taken = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local field = all[i]
  if ARGV[1] == '' or string.sub(field, 1, #ARGV[1] + 1) == ARGV[1] .. '\\n' then
    table.insert(taken, all[i + 1])
    redis.call('HDEL', KEYS[1], field)
    redis.call('ZREM', KEYS[2], ARGV[2] .. field)
  end
end
return taken
"""

# KEYS: deadlines; ARGV: now ms, limit, key prefix
POP_DUE_WAITERS = """
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
local due = {}
for _, member in ipairs(members) do
  redis.call('ZREM', KEYS[1], member)
  local tenant, event, field = string.match(member, '^([^\\n]*)\\n([^\\n]*)\\n(.*)$')
  local key = ARGV[3] .. ':t:' .. tenant .. ':wf:wait:' .. event
  local waiter = redis.call('HGET', key, field)
  if waiter then
    redis.call('HDEL', key, field)
    table.insert(due, waiter)
  end
end
return due
"""


class RedisWorkflowStore:
    """Workflow runs and waiters in Redis under `prefix` (the message store's prefix).

    >>> store = RedisWorkflowStore(redis.Redis(), prefix="my-tests")  # doctest: +SKIP
    """

    def __init__(self, client: Any, *, prefix: str, max_ended_runs: int = 10_000) -> None:
        self.client = client
        self.prefix = prefix
        self._max_ended = max_ended_runs
        self._create_run = Script(client, CREATE_RUN)
        self._put_run = Script(client, PUT_RUN)
        self._append_history = Script(client, APPEND_HISTORY)
        self._take_waiters = Script(client, TAKE_WAITERS)
        self._pop_due = Script(client, POP_DUE_WAITERS)

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

    # runs
    def create_run(self, run: Run) -> Run | None:
        run_key, hist, seen, msgs, held = self._run_keys(run.tenant, run.run_id)
        keys = [run_key, self._key(run.tenant, "runs"), hist, seen, msgs, held,
                self._key(run.tenant, "ended")]
        live = self._create_run(keys=keys, args=[tenant_segment(run.run_id), encode(run)])
        return None if live is None else decode(Run, live)

    def put_run(self, run: Run) -> None:
        keys = [self._key(run.tenant, "run", run.run_id), self._key(run.tenant, "runs"),
                self._key(run.tenant, "ended")]
        self._put_run(keys=keys, args=[
            tenant_segment(run.run_id), encode(run), "1" if run.live else "0",
            run.completed_at_ms or 0, self._max_ended, self._key(run.tenant, "")])

    def get_run(self, tenant: str, run_id: str) -> Run | None:
        raw = self.client.hget(self._key(tenant, "run", run_id), "run")
        return None if raw is None else decode(Run, raw)

    def runs(self, tenant: str) -> list[Run]:
        segments = [text(raw) for raw in self.client.smembers(self._key(tenant, "runs"))]
        pipe = self.client.pipeline(transaction=False)
        for segment in segments:
            pipe.hget(self._key(tenant, "run:" + segment), "run")
        return [decode(Run, raw) for raw in pipe.execute() if raw is not None]

    # history and messages
    def append_history(self, tenant: str, run_id: str, item: HistoryItem) -> list[HistoryItem]:
        raw = self._append_history(
            keys=[self._key(tenant, "hist", run_id), self._key(tenant, "seen", run_id)],
            args=[item.message_id, encode(item)])
        return [decode(HistoryItem, entry) for entry in raw]

    def history(self, tenant: str, run_id: str) -> list[HistoryItem]:
        raw = self.client.lrange(self._key(tenant, "hist", run_id), 0, -1)
        return [decode(HistoryItem, entry) for entry in raw]

    def put_history(self, tenant: str, run_id: str, items: list[HistoryItem]) -> None:
        hist, seen = self._key(tenant, "hist", run_id), self._key(tenant, "seen", run_id)
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(hist, seen)
        if items:
            pipe.rpush(hist, *[encode(item) for item in items])
            pipe.sadd(seen, *[item.message_id for item in items])
        pipe.execute()

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
        pipe.zadd(self._deadlines, {self._member_prefix(waiter.tenant, waiter.event_id) + field:
                                    waiter.deadline_ms})
        pipe.execute()

    def waiters(self, tenant: str, event_id: str) -> list[Waiter]:
        raw = self.client.hvals(self._key(tenant, "wait", event_id))
        return [decode(Waiter, entry) for entry in raw]

    def take_waiters(self, tenant: str, event_id: str, run_id: str | None) -> list[Waiter]:
        raw = self._take_waiters(
            keys=[self._key(tenant, "wait", event_id), self._deadlines],
            args=[tenant_segment(run_id) if run_id else "",
                  self._member_prefix(tenant, event_id)])
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
