-- Session ARGV[3] (a full JID; '' the operator) changes affiliations in
-- room ARGV[2] (XEP-0045 9.1-9.5, 10.3-10.8); ARGV[4] fresh random hex;
-- then for each item four arguments: nick (used when the jid is ''),
-- bare JID, affiliation (owner, admin, member, none or outcast, checked
-- by the handler), reason ('' none). Keys and ARGV[1]: lib/muc.lua,
-- KEYS[6] (the set of rooms) included.
-- Owners may do anything but leave the room without an owner (conflict);
-- admins may only make members, outcasts or nobodies of members,
-- outcasts and nobodies (making an admin or owner is forbidden, touching
-- one not-allowed); others are forbidden. Nobody bans oneself
-- (conflict). An item by nick names the bare JID of that occupant
-- (no-nick when there is none). Every item is checked before any
-- applies: the first one refused refuses them all.
-- Then each is stored (none: the JID leaves :aff), and every occupant of
-- that bare JID learns it: an outcast is removed (muc_remove, 301), and
-- a nobody of a members-only room (321), with the acting occupant's nick
-- ('' none) and the reason; the others' presence goes again with the new
-- affiliation and the role that goes with it (lib/muc.lua's
-- muc_default_role: at once when the affiliation drops, only if higher
-- when it rises, so a granted moderator stays one).
-- Returns { 'set' }, { 'forbidden' }, { 'not-allowed' }, { 'conflict' },
-- { 'no-nick' } or { 'no-room' }.
-- include: lib/mam.lua
-- include: lib/muc.lua
-- include: lib/mucadmin.lua
local MUC_STATUS_BANNED = '301'
local MUC_STATUS_AFFILIATION = '321'
if redis.call('EXISTS', KEYS[2]) == 0 then return { 'no-room' } end
local rand = ARGV[4]
local actor = string.match(ARGV[3], '^[^/]*')
local anick = muc_occupant_of(ARGV[3]) or ''
local mine = actor == '' and 'owner' or muc_affiliation(actor)
if mine ~= 'owner' and mine ~= 'admin' then return { 'forbidden' } end
local owners, items = {}, {}
local all = redis.call('HGETALL', KEYS[4])
for i = 1, #all, 2 do
  if all[i + 1] == 'owner' then owners[all[i]] = true end
end
for i = 5, #ARGV, 4 do
  local jid, new = ARGV[i + 1], ARGV[i + 2]
  if jid == '' then
    local o = muc_occupant(ARGV[i])
    if not o then return { 'no-nick' } end
    jid = muc_bare_of(o)
  end
  local old = muc_affiliation(jid)
  if mine == 'admin' then
    if new == 'owner' or new == 'admin' then return { 'forbidden' } end
    if old == 'owner' or old == 'admin' then return { 'not-allowed' } end
  end
  if new == 'outcast' and jid == actor then return { 'conflict' } end
  owners[jid] = new == 'owner' or nil
  items[#items + 1] = { jid, new, ARGV[i + 3] }
end
if next(owners) == nil then return { 'conflict' } end
local conf = muc_config()
for _, it in ipairs(items) do
  local jid, new, reason = it[1], it[2], it[3]
  local old = muc_affiliation(jid)
  if new == 'none' then
    redis.call('HDEL', KEYS[4], jid)
  else
    redis.call('HSET', KEYS[4], jid, new)
  end
  local occ = redis.call('HGETALL', KEYS[1])
  for i = 1, #occ, 2 do
    local nick, o = occ[i], cjson.decode(occ[i + 1])
    if muc_bare_of(o) == jid and o.aff ~= new then
      if new == 'outcast' then
        muc_remove(nick, o, new, MUC_STATUS_BANNED, anick, reason, rand)
      elseif new == 'none' and conf.members_only == '1' then
        muc_remove(nick, o, new, MUC_STATUS_AFFILIATION, anick, reason, rand)
      else
        local role = muc_default_role(new, conf)
        if MUC_AFF_RANK[new] < MUC_AFF_RANK[old] or
            MUC_ROLE_RANK[o.role] < MUC_ROLE_RANK[role] then
          o.role = role
        end
        o.aff = new
        muc_changed(nick, o, anick, reason, rand)
      end
    end
  end
end
muc_destroy_if_empty()
return { 'set' }
