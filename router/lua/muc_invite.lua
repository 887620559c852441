-- Session ARGV[3] (a full JID) invites users to room ARGV[2] (XEP-0045
-- 7.8.2, mediated); ARGV[4...] the bare JIDs of the invitees its
-- invitations reached (none: may it invite at all?). Keys and ARGV[1]:
-- lib/muc.lua.
-- The inviter must be an occupant (not-occupant). In a members-only
-- room only admins and owners may invite, and members when the room's
-- allow_invites is 1 (else forbidden), and an invitee without an
-- affiliation becomes a member (9.5): the handler names the invitees
-- after it delivered the invitations, so that no JID nobody has (which
-- someone might register later) becomes one. No event: an invitee is
-- not in the room.
-- Returns { 'invited', password ('' none), members_only ('1' or '0') },
-- { 'not-occupant' }, { 'forbidden' } or { 'no-room' }.
-- include: lib/mam.lua
-- include: lib/muc.lua
-- include: lib/mucadmin.lua
if redis.call('EXISTS', KEYS[2]) == 0 then return { 'no-room' } end
local _, o = muc_occupant_of(ARGV[3])
if not o then return { 'not-occupant' } end
local conf = muc_config()
if conf.members_only == '1' then
  local aff = muc_affiliation(muc_bare_of(o))
  if aff ~= 'owner' and aff ~= 'admin' and (aff ~= 'member' or conf.allow_invites ~= '1') then
    return { 'forbidden' }
  end
  for i = 4, #ARGV do
    if muc_affiliation(ARGV[i]) == 'none' then redis.call('HSET', KEYS[4], ARGV[i], 'member') end
  end
end
return { 'invited', conf.password, conf.members_only }
