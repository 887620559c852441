-- XEP-0363: a slot's file was stored; it counts until it expires.
-- KEYS[1] the user's uploads hash (upload_reserve.lua), KEYS[2] the
-- user's account hash.
-- ARGV[1] slot id, ARGV[2] size, ARGV[3] until: when the file expires,
-- ARGV[4] now.
-- The file counts for its owner while the account exists, even when the
-- slot's reservation lapsed during a long PUT (it is set again); an
-- account removed meanwhile owns nothing (the caller removes the file).
-- The hash lives as long as its last entry.
-- Returns { 'kept' } or { 'gone' }.
local id, size, untl, now = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
if redis.call('EXISTS', KEYS[2]) == 0 then
  return { 'gone' }
end
redis.call('HSET', KEYS[1], id, size .. ' ' .. untl)
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 or now + ttl < untl then
  redis.call('EXPIREAT', KEYS[1], untl)
end
return { 'kept' }
