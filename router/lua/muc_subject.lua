-- Session ARGV[4], occupant ARGV[3] of room ARGV[2], sets the subject
-- with message ARGV[5] (no 'from' nor 'to'; its <subject/>, maybe
-- empty, is the subject); ARGV[6] fresh random hex. Keys and ARGV[1]:
-- lib/muc.lua. XEP-0045 8.1: moderators may, participants when the
-- room's change_subject is 1, visitors never. The room keeps the stanza
-- and the nick for every later join (conf subject, subject_nick) and
-- the log one event.
-- Returns { 'sent', stanza-id }, { 'not-occupant' } (not-acceptable)
-- or { 'forbidden' }.
-- include: lib/mam.lua
-- include: lib/muc.lua
local nick, full = ARGV[3], ARGV[4]
local o = muc_occupant(nick)
if not o or not muc_session_of(o, full) then return { 'not-occupant' } end
if o.role ~= 'moderator' and
    (o.role ~= 'participant' or muc_config().change_subject ~= '1') then
  return { 'forbidden' }
end
redis.call('HSET', KEYS[2], 'subject', ARGV[5], 'subject_nick', nick)
local _, sid = muc_event({ 't', 'subject', 'n', nick, 'j', full, 'ro', o.role, 'af', o.aff,
  'x', ARGV[5] }, ARGV[6])
return { 'sent', sid }
