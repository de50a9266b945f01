"""The Lua scripts of the Redis workflow store (`workflows.py` lists the keys they touch).

A run's hash keeps, besides its JSON, its order key (`key`), `state` and step count (`steps`),
so the scripts keep the order indexes (`order`, `by:<state>`) right without decoding a run.
`B` below is the tenant's key base, `P:t:T:wf:`.
"""

# A function the scripts share: take a run (its hash says where it is) out of the indexes.
UNINDEX = """
local function unindex(hash, order, base)
  local old = redis.call('HMGET', hash, 'key', 'state')
  if old[1] then
    redis.call('ZREM', order, old[1])
    redis.call('ZREM', base .. 'by:' .. old[2], old[1])
  end
end
"""

# KEYS: run, runs, hist, seen, msgs, held, ended, waits, order
# ARGV: run segment, run JSON, order key, B, state
CREATE_RUN = UNINDEX + """
if redis.call('HGET', KEYS[1], 'live') == '1' then return redis.call('HGET', KEYS[1], 'run') end
unindex(KEYS[1], KEYS[9], ARGV[4])
redis.call('DEL', KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[8])
redis.call('HSET', KEYS[1], 'run', ARGV[2], 'live', '1', 'key', ARGV[3], 'state', ARGV[5],
           'steps', 0)
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[7], ARGV[1])
redis.call('ZADD', KEYS[9], 0, ARGV[3])
redis.call('ZADD', ARGV[4] .. 'by:' .. ARGV[5], 0, ARGV[3])
return false
"""

# Store a run; one that ended joins the ended runs, of which the oldest beyond the limit go
# (with their history, messages, held events and waiter index).
# KEYS: run, runs, ended, order
# ARGV: run segment, run JSON, live (1 | 0), end time, limit, B, order key, state
PUT_RUN = UNINDEX + """
unindex(KEYS[1], KEYS[4], ARGV[6])
redis.call('HSET', KEYS[1], 'run', ARGV[2], 'live', ARGV[3], 'key', ARGV[7], 'state', ARGV[8])
redis.call('ZADD', KEYS[4], 0, ARGV[7])
redis.call('ZADD', ARGV[6] .. 'by:' .. ARGV[8], 0, ARGV[7])
redis.call('SADD', KEYS[2], ARGV[1])
if ARGV[3] == '1' then return 1 end
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
local over = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[5])
if over <= 0 then return 1 end
local old = redis.call('ZPOPMIN', KEYS[3], over)
for i = 1, #old, 2 do
  unindex(ARGV[6] .. 'run:' .. old[i], KEYS[4], ARGV[6])
  for _, kind in ipairs({'run:', 'hist:', 'seen:', 'msgs:', 'held:', 'waits:'}) do
    redis.call('DEL', ARGV[6] .. kind .. old[i])
  end
  redis.call('SREM', KEYS[2], old[i])
end
return 1
"""

# KEYS: hist, seen, run; ARGV: message id, item JSON, 1 when the item is a step
APPEND_HISTORY = """
if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then
  redis.call('RPUSH', KEYS[1], ARGV[2])
  if ARGV[3] == '1' and redis.call('EXISTS', KEYS[3]) == 1 then
    redis.call('HINCRBY', KEYS[3], 'steps', 1)
  end
end
return redis.call('LRANGE', KEYS[1], 0, -1)
"""

# KEYS: hist, seen, run; ARGV: step count, then (item JSON, message id) pairs
PUT_HISTORY = """
redis.call('DEL', KEYS[1], KEYS[2])
for i = 2, #ARGV, 2 do
  redis.call('RPUSH', KEYS[1], ARGV[i])
  redis.call('SADD', KEYS[2], ARGV[i + 1])
end
if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('HSET', KEYS[3], 'steps', ARGV[1]) end
return 1
"""

# KEYS: waiters of the event, deadlines
# ARGV: run segment ('' for all), deadline member prefix, B, event segment
TAKE_WAITERS = """
local taken = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local field = all[i]
  if ARGV[1] == '' or string.sub(field, 1, #ARGV[1] + 1) == ARGV[1] .. '\\n' then
    table.insert(taken, all[i + 1])
    redis.call('HDEL', KEYS[1], field)
    redis.call('ZREM', KEYS[2], ARGV[2] .. field)
    local run, id = string.match(field, '^([^\\n]*)\\n(.*)$')
    redis.call('HDEL', ARGV[3] .. 'waits:' .. run, ARGV[4] .. '\\n' .. id)
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
  local base = ARGV[3] .. ':t:' .. tenant .. ':wf:'
  local waiter = redis.call('HGET', base .. 'wait:' .. event, field)
  if waiter then
    redis.call('HDEL', base .. 'wait:' .. event, field)
    local run, id = string.match(field, '^([^\\n]*)\\n(.*)$')
    redis.call('HDEL', base .. 'waits:' .. run, event .. '\\n' .. id)
    table.insert(due, waiter)
  end
end
return due
"""
