-- A login from one of a user's clients (XEP-0388 user agent,
-- router/fast.h): KEYS[1] the user's clients hash, KEYS[2] its fast
-- hash; ARGV[1] the user-agent id, ARGV[2] "<now>\t<software>\t<device>",
-- ARGV[3] the most clients remembered. A new client past that many
-- forgets the one seen least recently, and that one's tokens.
-- Returns { 'ok' } or { 'forgot', id }.
local out = { 'ok' }
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and
    redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  local all = redis.call('HGETALL', KEYS[1])
  local oldest, when = nil, nil
  for i = 1, #all, 2 do
    local t = tonumber(string.match(all[i + 1], '^(%d+)')) or 0
    if not when or t < when then oldest, when = all[i], t end
  end
  redis.call('HDEL', KEYS[1], oldest)
  redis.call('HDEL', KEYS[2], oldest)
  out = { 'forgot', oldest }
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return out
