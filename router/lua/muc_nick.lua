-- Session ARGV[4], occupant ARGV[3] of room ARGV[2], becomes nick
-- ARGV[6] with presence ARGV[5] (no 'from' nor 'to'); ARGV[7] fresh
-- random hex. Keys and ARGV[1]: lib/muc.lua. XEP-0045 7.6: the occupant
-- (every session of the nick) moves to the new nick, in two log events:
-- unavailable from the old nick with status 303 and the new nick (nn),
-- then available from the new one. A nick someone holds is a conflict,
-- and nothing changes.
-- Returns { 'changed', entry ID of the available event }, { 'conflict' }
-- or { 'not-occupant' }.
-- include: lib/mam.lua
-- include: lib/muc.lua
local nick, full, xml, new, rand = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local o = muc_occupant(nick)
if not o or not muc_session_of(o, full) then return { 'not-occupant' } end
if muc_occupant(new) then return { 'conflict' } end
redis.call('HDEL', KEYS[1], nick)
muc_event({ 't', 'presence', 'n', nick, 'j', full, 'ro', o.role, 'af', o.aff,
  'ty', 'unavailable', 'la', '1', 'c', MUC_STATUS_NICK, 'nn', new, 'x', o.pres or '' }, rand)
o.pres = xml
muc_occupant_set(new, o)
local id = muc_presence(new, full, o, '', '0', '', xml, rand)
return { 'changed', id }
