-- Take resource ARGV[2] of user ARGV[1] for the session record ARGV[3]
-- (stream id ARGV[4], expiring at ARGV[5] unless refreshed).
-- KEYS[1] sessions hash, KEYS[2] online index set, KEYS[3] expiry index
-- (on a cluster, both indexes are the shards beside the user's keys:
-- store.h).
-- Returns { 'bound' } when no record held the resource, or
-- { 'replaced', id } with the stream id of the session whose record it
-- replaced ('' if that record had none): the caller kicks it.
-- include: lib/record.lua
local old = redis.call('HGET', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[5], expiry_member(ARGV[4], ARGV[1], ARGV[2]))
if old then
  return { 'replaced', record_get(old, 'id') or '' }
end
return { 'bound' }
