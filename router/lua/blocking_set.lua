-- Change one user's blocklist (XEP-0191) and tell the user's sessions, in
-- one step: a session never misses a change, nor sees one twice.
-- KEYS[1] the blocklist set, KEYS[2] and KEYS[3] the user's broadcast
-- log's readers and log (lib/bcast.lua). ARGV[1] 'block' or 'unblock',
-- ARGV[2] the user's bare channel, ARGV[3] the push (the <block/> or
-- <unblock/> element), ARGV[4] the most JIDs the set may hold, ARGV[5]
-- now, ARGV[6] the broadcast log's length, ARGV[7..] the JIDs (none
-- with 'unblock': all of them).
-- Publishes "blocking\n" .. ARGV[3] on ARGV[2] (bcast_publish) when the
-- request is done, even if nothing changed (the XEP pushes every
-- request).
-- Returns { 'done', JID... } with the JIDs whose state changed, or
-- { 'full' } when blocking them would pass ARGV[4] (nothing changed).
-- include: lib/bcast.lua
local key, op = KEYS[1], ARGV[1]
local changed = {}
if op == 'block' then
  local new = 0
  for i = 7, #ARGV do
    if redis.call('SISMEMBER', key, ARGV[i]) == 0 then new = new + 1 end
  end
  if redis.call('SCARD', key) + new > tonumber(ARGV[4]) then
    return { 'full' }
  end
  for i = 7, #ARGV do
    if redis.call('SADD', key, ARGV[i]) == 1 then changed[#changed + 1] = ARGV[i] end
  end
elseif #ARGV == 6 then
  changed = redis.call('SMEMBERS', key)
  redis.call('DEL', key)
else
  for i = 7, #ARGV do
    if redis.call('SREM', key, ARGV[i]) == 1 then changed[#changed + 1] = ARGV[i] end
  end
end
bcast_publish(ARGV[2], KEYS[2], KEYS[3], 'blocking\n' .. ARGV[3], ARGV[5], ARGV[6])
return { 'done', unpack(changed) }
