-- Replace one client's FAST token record only if it is still what the
-- caller read (router/fast.h): two logins with the same token, or a
-- login and a revocation, never both win. KEYS[1] the user's fast hash;
-- ARGV[1] the user-agent id, ARGV[2] the record as read ('' none),
-- ARGV[3] the new record ('' remove it).
-- Returns { 'ok' } or { 'changed' }.
local now = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if now ~= ARGV[2] then return { 'changed' } end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
return { 'ok' }
