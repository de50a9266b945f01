"""The Redis fallback queue's configuration, keys, entries and Lua scripts.

Each move of an entry between the stream of ready jobs and the sorted set of delayed ones is one
script, so that a job is always in exactly one of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..types import Job

GROUP = "workers"
BLOCK_MS = 500
PROMOTE_POLL_S = 0.5
IDLE_CONSUMER_MS = 3600 * 1000

SUBMIT = """
if redis.call('XLEN', KEYS[1]) + redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[1]) then
  return 0
end
if ARGV[2] == '' then
  redis.call('XADD', KEYS[1], '*', 'entry', ARGV[3])
else
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
end
return 1
"""
PROMOTE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  redis.call('XADD', KEYS[1], '*', 'entry', member)
  redis.call('ZREM', KEYS[2], member)
end
return #due
"""
RESCHEDULE = """
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
"""


@dataclass(frozen=True)
class RedisFallback:
    """Where the Redis fallback queue lives and how its workers behave.

    `worker=False` makes a queue that only adds jobs (another process delivers them).
    """

    url: str
    prefix: str = "qstash_queue"
    name: str = "fallback"
    lease_s: float = 30.0
    worker: bool = True


def encode_entry(job: Job, retried: int) -> str:
    return json.dumps({"job": job.to_json(), "retried": retried}, sort_keys=True)


def decode_entry(entry: str) -> tuple[Job, int]:
    data = json.loads(entry)
    return Job.from_json(data["job"]), int(data["retried"])
