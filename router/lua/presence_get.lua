#!lua flags=no-writes
-- The current presence of some users: the last broadcast presence of each
-- resource whose session is alive and available. KEYS come in pairs, one
-- per user: KEYS[2i-1] sessions hash, KEYS[2i] presence hash. On a
-- cluster the caller passes one user a call (one slot), pipelined.
-- ARGV[1] now (unix seconds), ARGV[2] session TTL.
-- A presence without a live session is stale (its handler died) and is
-- left out, so a dead host never shows as online.
-- Returns { 'presence', xml... }: the presences, users in the order of
-- KEYS (none: { 'presence' }).
-- Read only (the first line, Redis 7): Redis refuses a write in it, and
-- may run it on a read-only replica.
-- include: lib/record.lua
local now, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = { 'presence' }
for k = 1, #KEYS - 1, 2 do
  local pres = redis.call('HGETALL', KEYS[k + 1])
  for i = 1, #pres, 2 do
    local rec = redis.call('HGET', KEYS[k], pres[i])
    if rec then
      if record_avail(rec) and record_live(rec, now, ttl) then
        out[#out + 1] = pres[i + 1]
      end
    end
  end
end
return out
