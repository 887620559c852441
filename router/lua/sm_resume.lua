-- Resume (XEP-0198) session ARGV[1] (its XEP-0198 id) of user ARGV[8]
-- on the handler of stream id ARGV[3], the client having handled ARGV[2]
-- stanzas: the session's record and state become that handler's, what
-- the client acknowledged leaves smq, and the rest comes back to be sent
-- again. The handler that served it, if alive, is kicked by the caller.
-- KEYS[1] smids hash, KEYS[2] sessions hash, KEYS[3] expiry index (on a
-- cluster its shard beside the user's keys: store.h).
-- ARGV[4] host, ARGV[5] pid, ARGV[6] now, ARGV[7] session TTL, ARGV[9]
-- the user's key prefix "<prefix>{bare}:".
-- Returns { 'resumed', resource, hin, old stream id, entry... },
-- { 'gone', hin } (it ended; hin as it ended), { 'unknown' }, or
-- { 'toohigh', sent } (ARGV[2] counts more than was sent: sent is the
-- count).
-- include: lib/record.lua
local M = 4294967296
local res = redis.call('HGET', KEYS[1], ARGV[1])
if not res then
  local h = redis.call('GET', ARGV[9] .. 'smgone:' .. ARGV[1])
  if h then return { 'gone', h } end
  return { 'unknown' }
end
local smk, smq = ARGV[9] .. 'sm:' .. res, ARGV[9] .. 'smq:' .. res
local st = redis.call('HMGET', smk, 'id', 'owner', 'hin', 'acked')
local rec = redis.call('HGET', KEYS[2], res)
if st[1] ~= ARGV[1] or not rec or record_get(rec, 'id') ~= st[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])     -- a stale index entry
  return { 'unknown' }
end
local now = tonumber(ARGV[6])
local det = record_num(rec, 'det', 0)
if det > 0 and now >= det then
  return { 'gone', st[3] }                 -- the reaper is about to end it
end
local acked, h = tonumber(st[4]), tonumber(ARGV[2])
local n = redis.call('LLEN', smq)
local d = (h - acked) % M
if d > n then
  return { 'toohigh', tostring((acked + n) % M) }
end
if d > 0 then
  redis.call('LTRIM', smq, d, -1)
end
redis.call('HSET', smk, 'owner', ARGV[3], 'acked', ARGV[2])
redis.call('ZREM', KEYS[3], expiry_member(st[2], ARGV[8], res))
rec = record_set(rec, 'id', ARGV[3])
rec = record_set(rec, 'host', ARGV[4])
rec = record_set(rec, 'pid', ARGV[5])
rec = record_set(rec, 'seen', ARGV[6])
rec = record_set(rec, 'det', '0')
redis.call('HSET', KEYS[2], res, rec)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[7]), expiry_member(ARGV[3], ARGV[8], res))
-- Carbons (XEP-0280) stay enabled: their flag names the stream id.
local cb = ARGV[9] .. 'carbons'
if redis.call('HGET', cb, res) == st[2] then
  redis.call('HSET', cb, res, ARGV[3])
end
local out = { 'resumed', res, st[3], st[2] }
for _, e in ipairs(redis.call('LRANGE', smq, 0, -1)) do
  out[#out + 1] = e
end
return out
