-- Remove resource ARGV[2] of user ARGV[1] only if it still holds stream id
-- ARGV[3]: a session that was replaced must not remove its successor.
-- KEYS[1] sessions hash, KEYS[2] online index set.  Returns 1 if removed.
local old = redis.call('HGET', KEYS[1], ARGV[2])
if not old or string.match(old, 'id=(%S+)') ~= ARGV[3] then
  return 0
end
redis.call('HDEL', KEYS[1], ARGV[2])
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[2], ARGV[1])
end
return 1
