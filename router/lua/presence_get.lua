-- The current presence of one user: the last broadcast presence of each
-- resource whose session is alive and available. KEYS[1] sessions hash,
-- KEYS[2] presence hash. ARGV[1] now (unix seconds), ARGV[2] session TTL.
-- A presence without a live session is stale (its handler died) and is
-- left out, so a dead host never shows as online.
local now, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = {}
local pres = redis.call('HGETALL', KEYS[2])
for i = 1, #pres, 2 do
  local rec = redis.call('HGET', KEYS[1], pres[i])
  if rec then
    local seen = tonumber(string.match(rec, 'seen=(%d+)') or '0')
    if string.find(rec, 'avail=1', 1, true) and now - seen <= ttl then
      out[#out + 1] = pres[i + 1]
    end
  end
end
return out
