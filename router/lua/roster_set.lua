-- Add or update a roster item from the user's roster set, keeping the
-- subscription state the server owns. KEYS[1] roster hash, KEYS[2] roster
-- version. ARGV[1] contact bare JID, ARGV[2] the item's text after the
-- subscription/ask attributes (" jid='..' name='..'>...</item>").
-- Returns { 'set', item, version }: the item as stored, the new version.
local item = redis.call('HGET', KEYS[1], ARGV[1])
local head = "<item subscription='none'"
if item then
  head = string.match(item, "^<item subscription='%a+' ask='subscribe'")
      or string.match(item, "^<item subscription='%a+'")
end
local new = head .. ARGV[2]
redis.call('HSET', KEYS[1], ARGV[1], new)
return { 'set', new, tostring(redis.call('INCR', KEYS[2])) }
