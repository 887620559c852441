#!lua flags=no-writes
-- Who room ARGV[2] has, for the operator (xmppctl room): every
-- affiliation, then every occupant with the full JIDs of its sessions,
-- in no order. Keys and ARGV[1]: lib/muc.lua; reads only.
-- Returns { 'room', number of affiliations, then bare JID, affiliation
-- for each, then nick, role, affiliation, number of sessions, their
-- full JIDs for each occupant } or { 'no-room' }.
-- include: lib/mam.lua
-- include: lib/muc.lua
if redis.call('EXISTS', KEYS[2]) == 0 then return { 'no-room' } end
local aff = redis.call('HGETALL', KEYS[4])
local r = { 'room', tostring(#aff / 2) }
for _, v in ipairs(aff) do r[#r + 1] = v end
local occ = redis.call('HGETALL', KEYS[1])
for i = 1, #occ, 2 do
  local o = cjson.decode(occ[i + 1])
  for _, v in ipairs({ occ[i], o.role, o.aff, tostring(#o.jids) }) do r[#r + 1] = v end
  for _, j in ipairs(o.jids) do r[#r + 1] = j end
end
return r
