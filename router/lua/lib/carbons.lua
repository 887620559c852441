-- lib/carbons.lua - XEP-0280 message carbons: the copies route_stanza.lua
-- makes of a message for a user's carbons-enabled sessions. A script
-- takes it with "-- include: lib/carbons.lua" after lib/record.lua and
-- lib/stanza.lua, whose functions it uses.
--
-- <prefix>{bare}:carbons is a hash resource -> the stream id of the
-- session that enabled carbons (router/carbons.h). A field whose id is not
-- the one in the resource's session record is the leftover of an earlier
-- session of that resource and counts for nothing.
-- A copy is built here, from the message's own envelope, only when a
-- session is to get one: most users have no carbons session, and then a
-- message costs nothing more.

-- The parts of a copy of the message in env ("stanza <accepted>[ echo]\n"
-- .. xml, written by xmppd: it starts "<message"), of type mtype, wrapped
-- in <dir/> ('received' or 'sent') and sent from bare: the envelope up to
-- the 'to' value, and the rest. The copy is marked echo: a handler neither
-- keeps it for a second delivery nor routes it again.
local function carbons_parts(env, bare, mtype, dir)
  local nl = string.find(env, '\n', 1, true)
  local accepted = string.match(string.sub(env, 1, nl - 1), '^stanza (%d+)') or '0'
  local xml = string.sub(env, nl + 1)
  local head = 'stanza ' .. accepted .. " echo\n<message from='" .. stanza_attr(bare)
  if mtype ~= 'normal' then       -- the default: said only when it is not
    head = head .. "' type='" .. stanza_attr(mtype)
  end
  head = head .. "' to='"
  local tail = "'><" .. dir .. " xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>" ..
    "<message xmlns='jabber:client'" .. string.sub(xml, 9) .. '</forwarded></' .. dir .. '></message>'
  return head, tail
end

-- Publish a copy of the message in env to every resource of user bare
-- that enabled carbons, is available and live (live(rec) true), and is
-- not in skip (a set of resources). ckey: the carbons hash, skey: the
-- sessions hash; pub(resource, record, envelope) publishes one copy and
-- answers its receivers. Returns the number of copies that reached a
-- session, and the number of sessions not in skip that have carbons on.
local function carbons_copy(ckey, skey, bare, skip, env, mtype, dir, live, pub)
  local on, n, enabled, head, tail = redis.call('HGETALL', ckey), 0, 0, nil, nil
  for i = 1, #on, 2 do
    local r = on[i]
    if not skip[r] then
      local rec = redis.call('HGET', skey, r)
      if rec and record_get(rec, 'id') == on[i + 1] and live(rec) then
        enabled = enabled + 1
        if record_avail(rec) then
          if not head then head, tail = carbons_parts(env, bare, mtype, dir) end
          if pub(r, rec, head .. stanza_attr(bare .. '/' .. r) .. tail) > 0 then
            n = n + 1
          end
        end
      end
    end
  end
  return n, enabled
end
