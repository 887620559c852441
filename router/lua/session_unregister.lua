-- End the session of resource ARGV[2] of user ARGV[1] if it still holds
-- stream id ARGV[3] (a replaced session must not remove its successor):
-- its record, its presence, its expiry entry, and the online index entry
-- with the last session. The expiry entry goes in every case.
-- KEYS[1] sessions hash, KEYS[2] online set, KEYS[3] presence hash,
-- KEYS[4] expiry index (on a cluster, both indexes are the shards beside
-- the user's keys: store.h).
-- Returns { 'ours', presence } (the presence it had broadcast, '' if
-- none), { 'taken' } if another session holds the resource (nothing
-- removed), or { 'norecord' } if there is no record.
-- include: lib/record.lua
redis.call('ZREM', KEYS[4], expiry_member(ARGV[3], ARGV[1], ARGV[2]))
local old = redis.call('HGET', KEYS[1], ARGV[2])
if not old then
  return { 'norecord' }
end
if record_get(old, 'id') ~= ARGV[3] then
  return { 'taken' }
end
local pres = redis.call('HGET', KEYS[3], ARGV[2]) or ''
redis.call('HDEL', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[2])
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[2], ARGV[1])
end
return { 'ours', pres }
