-- lib/carbons.lua - XEP-0280 message carbons: the copies route_stanza.lua
-- makes of a message for a user's carbons-enabled sessions. A script
-- takes it with "-- include: lib/carbons.lua" after lib/record.lua,
-- whose functions it uses.
--
-- <prefix>{bare}:carbons is a hash resource -> the stream id of the
-- session that enabled carbons (router/carbons.h). A field whose id is not
-- the one in the resource's session record is the leftover of an earlier
-- session of that resource and counts for nothing.
-- A copy's envelope is head .. the receiving full JID .. tail: the handler
-- makes both parts (handler/carbons.c); only the 'to' differs per copy,
-- and it is written here, escaped for an attribute in single quotes.

local carbons_esc = { ['&'] = '&amp;', ['<'] = '&lt;', ['>'] = '&gt;',
  ["'"] = '&apos;', ['"'] = '&quot;' }

-- s escaped for an XML attribute value.
local function carbons_attr(s)
  return (string.gsub(s, '[&<>\'"]', carbons_esc))
end

-- Publish a copy to every resource of user bare that enabled carbons, is
-- available and live (live(rec) true), and is not in skip (a set of
-- resources). ckey: the carbons hash, skey: the sessions hash;
-- pub(resource, record, envelope) publishes one copy and answers its
-- receivers. Returns the number of copies that reached a session.
local function carbons_copy(ckey, skey, bare, skip, head, tail, live, pub)
  local on, n = redis.call('HGETALL', ckey), 0
  for i = 1, #on, 2 do
    local r = on[i]
    if not skip[r] then
      local rec = redis.call('HGET', skey, r)
      if rec and record_get(rec, 'id') == on[i + 1] and record_avail(rec) and live(rec) then
        if pub(r, rec, head .. carbons_attr(bare .. '/' .. r) .. tail) > 0 then
          n = n + 1
        end
      end
    end
  end
  return n
end
