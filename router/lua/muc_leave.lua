-- Session ARGV[4] leaves room ARGV[2], where it is nick ARGV[3], with
-- unavailable presence ARGV[5] (no 'from' nor 'to') and status codes
-- ARGV[6] ("" or e.g. "332"); ARGV[7] fresh random hex. Keys and ARGV[1]:
-- lib/muc.lua, KEYS[6] (the set of rooms) included.
-- The nick stays while other sessions hold it (the event's la is then 0:
-- only the leaving session's handler shows it); the room goes with its
-- last occupant.
-- Returns { 'left', entry ID } or { 'not-occupant' }.
-- include: lib/mam.lua
-- include: lib/muc.lua
local nick, full = ARGV[3], ARGV[4]
local o = muc_occupant(nick)
local i = o and muc_session_of(o, full)
if not i then return { 'not-occupant' } end
table.remove(o.jids, i)
local last = '0'
if #o.jids == 0 then
  redis.call('HDEL', KEYS[1], nick)
  last = '1'
else
  muc_occupant_set(nick, o)
end
local id = muc_presence(nick, full, o, 'unavailable', last, ARGV[6], ARGV[5], ARGV[7])
muc_destroy_if_empty()
return { 'left', id }
