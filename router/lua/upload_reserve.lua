-- XEP-0363: reserve room for a slot in the user's quota, or refuse.
-- KEYS[1] the user's uploads hash: slot id -> '<size> <until>', the bytes
-- the slot holds (or may hold) until that Unix time.
-- ARGV[1] slot id, ARGV[2] size, ARGV[3] quota in bytes (0: none),
-- ARGV[4] now, ARGV[5] until (now + the slot's lifetime: a PUT that
-- never comes frees its room then; upload_commit.lua extends it to the
-- file's expiry).
-- Entries whose time has passed are removed first; the hash expires with
-- its last entry.
-- Returns { 'reserved', used } (bytes in use with this slot) or
-- { 'over', used } (bytes in use without it; nothing changed).
local id, size, quota = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local now, untl = tonumber(ARGV[4]), tonumber(ARGV[5])
local all = redis.call('HGETALL', KEYS[1])
local used, last = 0, untl
for i = 1, #all, 2 do
  local s, u = string.match(all[i + 1], '^(%d+) (%d+)$')
  s, u = tonumber(s), tonumber(u)
  if not s or u <= now then
    redis.call('HDEL', KEYS[1], all[i])
  else
    used = used + s
    if u > last then last = u end
  end
end
if quota > 0 and used + size > quota then
  return { 'over', used }
end
redis.call('HSET', KEYS[1], id, size .. ' ' .. untl)
redis.call('EXPIREAT', KEYS[1], last)
return { 'reserved', used + size }
