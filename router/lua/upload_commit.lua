-- XEP-0363: a slot's file was stored; it counts until it expires.
-- KEYS[1] the user's uploads hash (upload_reserve.lua).
-- ARGV[1] slot id, ARGV[2] size, ARGV[3] until: when the file expires,
-- ARGV[4] now.
-- Only a slot still reserved is kept: one whose reservation lapsed or
-- whose owner removed the account or the files counts for nothing (the
-- caller removes the file). The hash lives as long as its last entry.
-- Returns { 'kept' } or { 'gone' }.
local id, size, untl, now = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
if redis.call('HEXISTS', KEYS[1], id) == 0 then
  return { 'gone' }
end
redis.call('HSET', KEYS[1], id, size .. ' ' .. untl)
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 or now + ttl < untl then
  redis.call('EXPIREAT', KEYS[1], untl)
end
return { 'kept' }
