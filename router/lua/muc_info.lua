#!lua flags=no-writes
-- What room ARGV[2] is, for bare JID ARGV[3] asking ('' the operator):
-- its configuration (lib/muc.lua's defaults filled in), its number of
-- occupants, and the asker's affiliation; for the owner form (XEP-0045
-- 10.2), the room's disco#info (6.4) and xmppctl. Keys and ARGV[1]:
-- lib/muc.lua; reads only.
-- Returns { 'room', affiliation, occupants, then field, value, ... }
-- or { 'no-room' }.
-- include: lib/mam.lua
-- include: lib/muc.lua
if redis.call('EXISTS', KEYS[2]) == 0 then return { 'no-room' } end
local r = { 'room', muc_affiliation(ARGV[3]), tostring(redis.call('HLEN', KEYS[1])) }
for k, v in pairs(muc_config()) do
  r[#r + 1] = k
  r[#r + 1] = v
end
return r
