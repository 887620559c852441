-- Replace one user's XEP-0441 archiving preferences (KEYS[1], the hash
-- lib/mam.lua describes) at once: ARGV[1] the default ('' none: the
-- server's), then ARGV[2] the number of 'always' JIDs, those JIDs, and
-- the 'never' JIDs. A JID in both lists is 'never' (the safer reading).
-- Returns { 'stored' }.
redis.call('DEL', KEYS[1])
if ARGV[1] ~= '' then redis.call('HSET', KEYS[1], 'default', ARGV[1]) end
local n = tonumber(ARGV[2])
for i = 3, 2 + n do redis.call('HSET', KEYS[1], 'j:' .. ARGV[i], 'always') end
for i = 3 + n, #ARGV do redis.call('HSET', KEYS[1], 'j:' .. ARGV[i], 'never') end
return { 'stored' }
