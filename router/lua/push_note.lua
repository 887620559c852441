-- A message reached a user with no session listening (router/push.h):
-- which of its push registrations to notify now. KEYS[1] the user's push
-- hash, KEYS[2] its push state hash; ARGV[1] now (Unix seconds), ARGV[2]
-- push_interval. Every registration counts the message; one notified
-- less than ARGV[2] seconds ago waits (its count goes on growing), the
-- others are notified now with their count, which starts again.
-- Returns { 'notify', field, form, count, field, form, count ... }.
local now, every = tonumber(ARGV[1]), tonumber(ARGV[2])
local all = redis.call('HGETALL', KEYS[1])
local r = { 'notify' }
for i = 1, #all, 2 do
  local st = redis.call('HGET', KEYS[2], all[i]) or '0 0'
  local n, t = string.match(st, '^(%d+) (%d+)$')
  n, t = tonumber(n or 0) + 1, tonumber(t or 0)
  if now - t >= every then
    r[#r + 1] = all[i]
    r[#r + 1] = all[i + 1]
    r[#r + 1] = n
    redis.call('HSET', KEYS[2], all[i], '0 ' .. now)
  else
    redis.call('HSET', KEYS[2], all[i], n .. ' ' .. t)
  end
end
return r
