-- Session ARGV[4], occupant ARGV[3] of room ARGV[2], sends groupchat
-- message ARGV[5] (no 'from' nor 'to'); ARGV[6] fresh random hex, ARGV[7]
-- now, ARGV[8] archive_max_count, ARGV[9] archive_max_age. Keys and
-- ARGV[1]: lib/muc.lua. One log event and one wake-up, whatever the
-- number of occupants: the wake-up carries the message, and every
-- occupant's handler writes it from there (or reads it from the log).
-- A room whose logging is on keeps it in its archive too, with the same
-- id (lib/muc.lua's muc_archive).
-- Returns { 'sent', stanza-id }, { 'not-occupant' } (XEP-0045 7.4:
-- not-acceptable) or { 'forbidden' } (7.4: a visitor, without voice).
-- include: lib/mam.lua
-- include: lib/muc.lua
local nick, full = ARGV[3], ARGV[4]
local o = muc_occupant(nick)
if not o or not muc_session_of(o, full) then return { 'not-occupant' } end
if o.role == 'visitor' then return { 'forbidden' } end
local id, sid = muc_event({ 't', 'message', 'n', nick, 'j', full, 'ro', o.role, 'af', o.aff,
  'x', ARGV[5] }, ARGV[6], { nick = nick, x = ARGV[5] })
if muc_config_get('logging') == '1' then
  muc_archive(id, nick, full, ARGV[5], ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8]),
    tonumber(ARGV[9]))
end
return { 'sent', sid }
