-- Bring a session's stream management state up to date before its
-- handler writes to the client: what the client acknowledged leaves the
-- smq list, what is about to be written joins it, and the inbox entries
-- taken for it leave the inbox, in one step.
-- KEYS[1] sm hash, KEYS[2] smq list, KEYS[3] inbox list, KEYS[4] sessions
-- hash, KEYS[5] expiry index (on a cluster its shard beside the user's
-- keys: store.h).
-- ARGV[1] the handler's stream id, ARGV[2] hin, ARGV[3] acked, ARGV[4]
-- smq entries acknowledged since the last sync, ARGV[5] inbox entries
-- taken since, ARGV[6] a deadline: detach the session, resumable until
-- then ('0': stay attached), ARGV[7] bare JID, ARGV[8] resource,
-- ARGV[9] how many more inbox entries to take now (moved to smq after
-- the entries: the handler writes every one of them), ARGV[10] where
-- the user's broadcast log was read up to with the entries ('':
-- unchanged), ARGV[11]... entries to append to smq, in order.
-- Returns { 'synced', taken entry... }, { 'taken' } when another handler owns the
-- session (it was resumed elsewhere, or replaced), or { 'none' } when
-- there is no state at all (Redis lost its data): nothing changed.
-- include: lib/record.lua
-- include: lib/sm.lua
local owner = redis.call('HGET', KEYS[1], 'owner')
if not owner then
  return { 'none' }
end
if owner ~= ARGV[1] then
  return { 'taken' }
end
local acked, taken = tonumber(ARGV[4]), tonumber(ARGV[5])
if acked > 0 then
  redis.call('LTRIM', KEYS[2], acked, -1)
end
if taken > 0 then
  redis.call('LTRIM', KEYS[3], taken, -1)
end
for i = 11, #ARGV do
  redis.call('RPUSH', KEYS[2], ARGV[i])
end
local out = { 'synced' }
local take = tonumber(ARGV[9])
if take > 0 then
  local t = redis.call('LRANGE', KEYS[3], 0, take - 1)
  if #t > 0 then
    redis.call('LTRIM', KEYS[3], #t, -1)
    redis.call('RPUSH', KEYS[2], unpack(t))
  end
  for i = 1, #t do out[i + 1] = t[i] end
end
redis.call('HSET', KEYS[1], 'hin', ARGV[2], 'acked', ARGV[3])
if ARGV[10] ~= '' then
  redis.call('HSET', KEYS[1], 'bpos', ARGV[10])
end
if ARGV[6] ~= '0' then
  local rec = redis.call('HGET', KEYS[4], ARGV[8])
  if rec and record_get(rec, 'id') == ARGV[1] then
    sm_detach_record(KEYS[4], KEYS[5], ARGV[7], ARGV[8], rec, ARGV[1], ARGV[6])
  end
end
return out
