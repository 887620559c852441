-- Keep a user's broadcast log (lib/bcast.lua) for reader ARGV[1] until
-- ARGV[2] (Unix seconds): broadcasts are logged from now on.
-- KEYS[1] the log's readers, KEYS[2] the log.
-- Returns { 'held', id }: the newest entry's id, '0-0' with none (the
-- reader has everything up to it).
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('EXPIREAT', KEYS[1], last[2])
local l = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if l[1] then
  redis.call('EXPIREAT', KEYS[2], last[2])
  return { 'held', l[1][1] }
end
return { 'held', '0-0' }
