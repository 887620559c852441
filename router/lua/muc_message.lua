-- Session ARGV[4], occupant ARGV[3] of room ARGV[2], sends groupchat
-- message ARGV[5] (no 'from' nor 'to'); ARGV[6] fresh random hex. Keys
-- and ARGV[1]: lib/muc.lua. One log event and one wake-up, whatever the
-- number of occupants: the wake-up carries the message, and every
-- occupant's handler writes it from there (or reads it from the log).
-- Returns { 'sent', stanza-id }, { 'not-occupant' } (XEP-0045 7.4:
-- not-acceptable) or { 'forbidden' } (7.4: a visitor, without voice).
-- include: lib/mam.lua
-- include: lib/muc.lua
local nick, full = ARGV[3], ARGV[4]
local o = muc_occupant(nick)
if not o or not muc_session_of(o, full) then return { 'not-occupant' } end
if o.role == 'visitor' then return { 'forbidden' } end
local _, sid = muc_event({ 't', 'message', 'n', nick, 'j', full, 'ro', o.role, 'af', o.aff,
  'x', ARGV[5] }, ARGV[6], { nick = nick, x = ARGV[5] })
return { 'sent', sid }
