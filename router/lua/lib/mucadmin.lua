-- lib/mucadmin.lua - what the scripts of a room's administration share
-- (muc_role_set.lua, muc_aff_set.lua, muc_list.lua, muc_invite.lua):
-- the order of affiliations and roles, an occupant found by one of its
-- sessions, and the event of a changed occupant. Needs lib/muc.lua (and
-- so lib/mam.lua) before it.

-- XEP-0045 5: who outranks whom.
local MUC_AFF_RANK = { outcast = 0, none = 1, member = 2, admin = 3, owner = 4 }
local MUC_ROLE_RANK = { none = 0, visitor = 1, participant = 2, moderator = 3 }

-- The nick and record of the occupant that session full ('' none) is,
-- or nil: a scan, for the rare requests that name no nick.
local function muc_occupant_of(full)
  if full == '' then return nil end
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    local o = cjson.decode(all[i + 1])
    if muc_session_of(o, full) then return all[i], o end
  end
  return nil
end

-- The bare JID of occupant o.
local function muc_bare_of(o)
  return string.match(o.jids[1], '^[^/]*')
end

-- Occupant nick's role or affiliation changed (o holds the new ones):
-- stored, and its presence again for everyone, naming who changed it
-- (actor nick, '' none) and why (reason, '' none).
local function muc_changed(nick, o, actor, reason, rand)
  muc_occupant_set(nick, o)
  return muc_event({ 't', 'presence', 'n', nick, 'j', o.jids[1], 'ro', o.role, 'af', o.aff,
    'ty', '', 'la', '0', 'c', '', 'ac', actor, 'rs', reason, 'x', o.pres or '' }, rand)
end
