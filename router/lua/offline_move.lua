-- Move up to ARGV[1] of a user's offline stanzas, oldest first, into one
-- session's inbox, as "stanza" envelopes, in one step: if the answer is
-- lost on the way back, they wait in the inbox, not nowhere.
-- KEYS[1] offline list, KEYS[2] the session's inbox; ARGV[2] ('' none)
-- the archive's mark on a stanza (its <stanza-id by=/> start): those
-- that carry it are taken but left to the archive, whose reader
-- (a Bind2 client, XEP-0386) gets them there.
-- Returns { 'moved', count } (count < ARGV[1]: the offline list is empty).
local some = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
local mark = ARGV[2] or ''
for _, s in ipairs(some) do
  if mark == '' or not string.find(s, mark, 1, true) then
    redis.call('RPUSH', KEYS[2], 'stanza\n' .. s)
  end
end
redis.call('LTRIM', KEYS[1], #some, -1)
return { 'moved', #some }
