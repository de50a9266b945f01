"""The Lua scripts of the Redis store: the operations that must be atomic across instances.

Due-index members are `<tenant segment>\\n<message id>`; a tenant's keys are
`<prefix>:t:<tenant segment>:<kind>` (see `RedisBase`).
"""

from __future__ import annotations

# Store messages (any number, in order). Per message: its hash (active or finished) and
# insertion order, its place in the due index, and its claim (dropped unless it is in flight).
# An ACTIVE version never replaces a finished one: an instance that claimed a message just before
# another one cancelled it must not bring it back.
# Arguments from ARGV[first]: per message tenant segment, id, json,
#   kind (p pending | a active | f finished | o other), due ms
_PUT_MESSAGE = """
local function put_message(prefix, max_finished, due, claims, order, tenant, id, json, kind,
                           due_ms)
  local base = prefix .. ':t:' .. tenant .. ':'
  local member = tenant .. '\\n' .. id
  if kind == 'a' and redis.call('HEXISTS', base .. 'finished', id) == 1 then
    kind = 'skip'
  elseif kind == 'f' then
    redis.call('HDEL', base .. 'active', id)
    redis.call('ZREM', base .. 'active:order', id)
    if redis.call('HSET', base .. 'finished', id, json) == 1 then
      redis.call('ZADD', base .. 'finished:order', redis.call('INCR', order), id)
      local over = redis.call('ZCARD', base .. 'finished:order') - max_finished
      if over > 0 then
        local old = redis.call('ZPOPMIN', base .. 'finished:order', over)
        for j = 1, #old, 2 do redis.call('HDEL', base .. 'finished', old[j]) end
      end
    end
  elseif redis.call('HSET', base .. 'active', id, json) == 1 then
    redis.call('ZADD', base .. 'active:order', redis.call('INCR', order), id)
  end
  if kind == 'p' then
    redis.call('ZADD', due, due_ms, member)
  elseif kind ~= 'skip' then
    redis.call('ZREM', due, member)
  end
  if kind ~= 'a' and kind ~= 'skip' then redis.call('HDEL', claims, member) end
end
"""

# KEYS: due, claims, order counter.  ARGV: key prefix, max finished, then the messages
PUT_MESSAGES = _PUT_MESSAGE + """
for i = 3, #ARGV, 5 do
  put_message(ARGV[1], tonumber(ARGV[2]), KEYS[1], KEYS[2], KEYS[3], ARGV[i], ARGV[i + 1],
              ARGV[i + 2], ARGV[i + 3], ARGV[i + 4])
end
return 1
"""

# Is Redis's time past ARGV[1] (microseconds; 0: no deadline)?
_LATE = """
local function late(deadline)
  deadline = tonumber(deadline)
  if deadline == 0 then return false end
  local now = redis.call('TIME')
  return tonumber(now[1]) * 1000000 + tonumber(now[2]) > deadline
end
"""

# Every held-back write in one step, or none of them when Redis runs it after its deadline or
# after the sender declined it (see DECLINE); returns 1 when applied, else 0. Applied, it leaves
# its marker (ARGV[2]) for a while. Dedup ids claimed by publishes that failed are given up
# first, in any case. ARGV, in sections each led by its count:
#   deadline us, marker key, marker ttl ms, key prefix, max finished,
#   release count, per release: dedup key, message id,
#   message argument count, then the messages (see _PUT_MESSAGE),
#   list count, per list: key, length limit, value count, values,
#   charge count, per charge: usage key, count, ttl s,
#   increment count, per increment: hash key, field, count,
#   quota tenant count, the tenants
COMMIT = _PUT_MESSAGE + _LATE + """
local i = 7
for _ = 1, tonumber(ARGV[6]) do
  local held, mine = redis.call('GET', ARGV[i]), '|' .. ARGV[i + 1]
  if held and string.sub(held, -#mine) == mine then redis.call('DEL', ARGV[i]) end
  i = i + 2
end
if late(ARGV[1]) or redis.call('EXISTS', ARGV[2]) == 1 then return 0 end
redis.call('SET', ARGV[2], 'applied', 'PX', ARGV[3])
local prefix, max_finished = ARGV[4], tonumber(ARGV[5])
local due, claims, order = prefix .. ':due', prefix .. ':claims', prefix .. ':order'
local message_args = tonumber(ARGV[i]); i = i + 1
for _ = 1, message_args / 5 do
  put_message(prefix, max_finished, due, claims, order, ARGV[i], ARGV[i + 1], ARGV[i + 2],
              ARGV[i + 3], ARGV[i + 4])
  i = i + 5
end
local lists = tonumber(ARGV[i]); i = i + 1
for _ = 1, lists do
  local key, limit, count = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  i = i + 3
  for _ = 1, count do redis.call('RPUSH', key, ARGV[i]); i = i + 1 end
  redis.call('LTRIM', key, -limit, -1)
end
local charges = tonumber(ARGV[i]); i = i + 1
for _ = 1, charges do
  redis.call('HINCRBY', ARGV[i], 'used', ARGV[i + 1])
  redis.call('EXPIRE', ARGV[i], ARGV[i + 2])
  i = i + 3
end
local increments = tonumber(ARGV[i]); i = i + 1
for _ = 1, increments do
  redis.call('HINCRBY', ARGV[i], ARGV[i + 1], ARGV[i + 2])
  i = i + 3
end
local tenants = tonumber(ARGV[i]); i = i + 1
for _ = 1, tenants do
  redis.call('SADD', prefix .. ':quota-tenants', ARGV[i])
  i = i + 1
end
return 1
"""

# Take over the claims of instances whose lease ran out (back to due, due now), then claim up
# to `limit` due members for this instance and return the claimed messages' JSON.
# A commit whose answer never came: 1 if it was applied, else 0, and then it never will be.
# KEYS: its marker.  ARGV: marker ttl ms
DECLINE = """
if redis.call('GET', KEYS[1]) == 'applied' then return 1 end
redis.call('SET', KEYS[1], 'declined', 'PX', ARGV[1])
return 0
"""

# Nothing (an empty list) when Redis runs it after its deadline or after its sender declined it
# (see DECLINE_POP); applied, it lists the members it claimed under its marker for a while.
# KEYS: due, claims, instances, marker
# ARGV: now ms, limit, this instance, key prefix, deadline us (0: none), marker ttl ms
POP_DUE = _LATE + """
if late(ARGV[5]) or redis.call('EXISTS', KEYS[4]) == 1 then return {} end
redis.call('RPUSH', KEYS[4], '')
redis.call('PEXPIRE', KEYS[4], ARGV[6])
local me, prefix = ARGV[3], ARGV[4]
for _, inst in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if inst ~= me and redis.call('EXISTS', prefix .. ':lease:' .. inst) == 0 then
    local claims = redis.call('HGETALL', KEYS[2])
    for i = 1, #claims, 2 do
      if claims[i + 1] == inst then
        redis.call('HDEL', KEYS[2], claims[i])
        redis.call('ZADD', KEYS[1], ARGV[1], claims[i])
      end
    end
    redis.call('SREM', KEYS[3], inst)
  end
end
local out = {}
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(members) do
  redis.call('ZREM', KEYS[1], member)
  local sep = string.find(member, '\\n', 1, true)
  local active = prefix .. ':t:' .. string.sub(member, 1, sep - 1) .. ':active'
  local body = redis.call('HGET', active, string.sub(member, sep + 1))
  if body then
    redis.call('HSET', KEYS[2], member, me)
    redis.call('RPUSH', KEYS[4], member)
    out[#out + 1] = body
  end
end
return out
"""

# A claim of due messages whose answer never came: the members it claimed (the first item is
# empty) if it was applied, else false, and then it never will be.
# KEYS: its marker.  ARGV: marker ttl ms
DECLINE_POP = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  local members = redis.call('LRANGE', KEYS[1], 0, -1)
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[1], 'settled', 'PX', ARGV[1])
  return members
end
redis.call('SET', KEYS[1], 'declined', 'PX', ARGV[1])
return false
"""

# Give this instance's claims back to the due index (due now); used on a clean shutdown.
# KEYS: due, claims, instances, this instance's lease
# ARGV: this instance, score
RELEASE_CLAIMS = """
local claims = redis.call('HGETALL', KEYS[2])
for i = 1, #claims, 2 do
  if claims[i + 1] == ARGV[1] then
    redis.call('HDEL', KEYS[2], claims[i])
    redis.call('ZADD', KEYS[1], ARGV[2], claims[i])
  end
end
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('DEL', KEYS[4])
return 1
"""

# Give one claim of this instance back to the due index (due at ARGV[2]).
# KEYS: due, claims.  ARGV: this instance, due ms, member
RELEASE_ONE = """
if redis.call('HGET', KEYS[2], ARGV[3]) == ARGV[1] then
  redis.call('HDEL', KEYS[2], ARGV[3])
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
end
return 1
"""

# The id already holding `key` within its window (emulator time), or claim it and return false;
# -1 (nothing claimed) when Redis runs it after its deadline.
# KEYS: dedup key.  ARGV: message id, now ms, expires at ms, garbage-collection ttl ms, deadline us
CLAIM_DEDUP = _LATE + """
if late(ARGV[5]) then return -1 end
local held = redis.call('GET', KEYS[1])
if held then
  local sep = string.find(held, '|', 1, true)
  if tonumber(string.sub(held, 1, sep - 1)) > tonumber(ARGV[2]) then
    return string.sub(held, sep + 1)
  end
end
redis.call('SET', KEYS[1], ARGV[3] .. '|' .. ARGV[1], 'PX', ARGV[4])
return false
"""

# An insertion-ordered hash of JSON values (a re-put keeps its place).
# KEYS: hash, order, order counter.  ARGV: id, json
PUT_ORDERED = """
if redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
end
return 1
"""

# KEYS: hash, order.  Returns the values in insertion order.
LIST_ORDERED = """
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local value = redis.call('HGET', KEYS[1], id)
  if value then out[#out + 1] = value end
end
return out
"""

# KEYS: hash, order.  ARGV: id.  Returns 1 when something was deleted.
DELETE_ORDERED = """
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('HDEL', KEYS[1], ARGV[1])
"""

# Append values to a list, keeping only its newest entries.
# KEYS: list.  ARGV: most entries kept, then the values (JSON)
APPEND_BOUNDED = """
for i = 2, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[1]), -1)
return 1
"""

# Add one to a fault rule's named counter, unless the rule is gone (then 0).
# KEYS: rules hash, the rule's counters hash.  ARGV: rule id, counter name
ADVANCE_FAULT = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
return redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
"""

# Forget fault rules with their counters; returns how many rules there were.
# KEYS: rules hash, its order zset.  ARGV: counters key prefix, then the rule ids
DELETE_FAULTS = """
local deleted = 0
for i = 2, #ARGV do
  deleted = deleted + redis.call('HDEL', KEYS[1], ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[i])
  redis.call('DEL', ARGV[1] .. ARGV[i])
end
return deleted
"""

# Take the members scored at or before ARGV[1] (each is taken by one caller only).
# KEYS: zset.  ARGV: now ms
POP_SCORED = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for _, member in ipairs(due) do redis.call('ZREM', KEYS[1], member) end
return due
"""

# Use up one request of the outage in field ARGV[1] if it is still outage ARGV[2] and counted:
# the requests left (the outage ends at 0), or -1. Fields: <scope> JSON, <scope>\nid, <scope>\nleft
# KEYS: outages hash.  ARGV: scope, outage id
TAKE_OUTAGE = """
local id, left = ARGV[1] .. '\\nid', ARGV[1] .. '\\nleft'
if redis.call('HGET', KEYS[1], id) ~= ARGV[2] or redis.call('HEXISTS', KEYS[1], left) == 0 then
  return -1
end
local now = redis.call('HINCRBY', KEYS[1], left, -1)
if now <= 0 then redis.call('HDEL', KEYS[1], ARGV[1], id, left) end
return now
"""
