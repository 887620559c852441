-- Session ARGV[3] (a full JID) changes the roles of occupants of room
-- ARGV[2] (XEP-0045 8.2-8.6, 9.6-9.7); ARGV[4] fresh random hex; then
-- for each item four arguments: nick, '' (unused: a jid), role (none,
-- visitor, participant or moderator, checked by the handler), reason
-- ('' none). Keys and ARGV[1]: lib/muc.lua, KEYS[6] (the set of rooms)
-- included.
-- Only a moderator may (else forbidden). Every item is checked before
-- any applies, and the first one refused refuses them all: a nick not
-- in the room (no-nick); an occupant of a higher affiliation than the
-- moderator's, or an admin or owner losing voice (not-allowed); a change
-- to or from moderator by a moderator who is not an admin or owner
-- (forbidden). Then, item by item: role none removes the occupant,
-- every session of it (muc_remove: status 307, the moderator's nick as
-- actor, the reason); another role is stored and the occupant's
-- presence goes again with it (muc_changed); an unchanged role is no
-- event.
-- Returns { 'set' }, { 'forbidden' }, { 'not-allowed' }, { 'no-nick' }
-- or { 'no-room' }.
-- include: lib/mam.lua
-- include: lib/muc.lua
-- include: lib/mucadmin.lua
local MUC_STATUS_KICKED = '307'
if redis.call('EXISTS', KEYS[2]) == 0 then return { 'no-room' } end
local rand = ARGV[4]
local anick, a = muc_occupant_of(ARGV[3])
if not a or a.role ~= 'moderator' then return { 'forbidden' } end
local privileged = a.aff == 'owner' or a.aff == 'admin'
for i = 5, #ARGV, 4 do
  local role, o = ARGV[i + 2], muc_occupant(ARGV[i])
  if not o then return { 'no-nick' } end
  if MUC_AFF_RANK[o.aff] > MUC_AFF_RANK[a.aff] or
      ((o.aff == 'owner' or o.aff == 'admin') and (role == 'visitor' or role == 'participant')) then
    return { 'not-allowed' }
  end
  if (role == 'moderator' or o.role == 'moderator') and not privileged then
    return { 'forbidden' }
  end
end
for i = 5, #ARGV, 4 do
  local nick, role, reason = ARGV[i], ARGV[i + 2], ARGV[i + 3]
  local o = muc_occupant(nick)     -- nil: an earlier item removed it
  if o and o.role ~= role then
    if role == 'none' then
      muc_remove(nick, o, o.aff, MUC_STATUS_KICKED, anick, reason, rand)
    else
      o.role = role
      muc_changed(nick, o, anick, reason, rand)
    end
  end
end
muc_destroy_if_empty()
return { 'set' }
