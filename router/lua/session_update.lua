-- Refresh the session of resource ARGV[1] of user ARGV[7] if it still
-- holds stream id ARGV[2]: seen := ARGV[3], expiry := ARGV[6]; when ARGV[5]
-- is not '-1', prio := ARGV[4] and avail := ARGV[5], and the presence
-- hash gets ARGV[8] (avail 1) or loses the resource (avail 0).
-- KEYS[1] sessions hash, KEYS[2] presence hash, KEYS[3] expiry index (on a
-- cluster its shard beside the user's keys: store.h).
-- Returns { 'ours' } if updated, { 'taken' } if another session holds
-- the resource, { 'norecord' } if there is no record at all (reaped, or
-- Redis lost its data); nothing changes but with 'ours'.
-- include: lib/record.lua
local rec = redis.call('HGET', KEYS[1], ARGV[1])
if not rec then
  return { 'norecord' }
end
if record_get(rec, 'id') ~= ARGV[2] then
  return { 'taken' }
end
rec = record_set(rec, 'seen', ARGV[3])
if ARGV[5] ~= '-1' then
  rec = record_set(rec, 'prio', ARGV[4])
  rec = record_set(rec, 'avail', ARGV[5])
  if ARGV[5] == '1' then
    redis.call('HSET', KEYS[2], ARGV[1], ARGV[8])
  else
    redis.call('HDEL', KEYS[2], ARGV[1])
  end
end
redis.call('HSET', KEYS[1], ARGV[1], rec)
redis.call('ZADD', KEYS[3], ARGV[6], expiry_member(ARGV[2], ARGV[7], ARGV[1]))
return { 'ours' }
