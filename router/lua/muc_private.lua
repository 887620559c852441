-- Session ARGV[4], occupant ARGV[3] of room ARGV[2], sends private
-- message ARGV[5] (no 'from' nor 'to') to the occupant nick ARGV[6];
-- ARGV[7] fresh random hex. Keys and ARGV[1]: lib/muc.lua. XEP-0045
-- 7.5: one log event addressed to that nick (tn); only the handlers of
-- its sessions write it to their clients.
-- The room's allow_pm (anyone, participants, moderators, none) says who
-- may send them.
-- Returns { 'sent', stanza-id }, { 'not-occupant' } (the sender is not
-- in the room: not-acceptable), { 'no-nick' } (item-not-found) or
-- { 'forbidden' } (the room does not let this occupant).
-- include: lib/mam.lua
-- include: lib/muc.lua
local nick, full, to = ARGV[3], ARGV[4], ARGV[6]
local o = muc_occupant(nick)
if not o or not muc_session_of(o, full) then return { 'not-occupant' } end
if not muc_occupant(to) then return { 'no-nick' } end
local pm = muc_config().allow_pm
if pm == 'none' or (pm == 'participants' and o.role == 'visitor') or
    (pm == 'moderators' and o.role ~= 'moderator') then
  return { 'forbidden' }
end
local _, sid = muc_event({ 't', 'private', 'n', nick, 'j', full, 'ro', o.role, 'af', o.aff,
  'tn', to, 'x', ARGV[5] }, ARGV[7])
return { 'sent', sid }
