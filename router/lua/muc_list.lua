#!lua flags=no-writes
-- Session ARGV[3] (a full JID) asks room ARGV[2] for its occupants of
-- one role (ARGV[4] 'role', ARGV[5] moderator, participant or visitor:
-- XEP-0045 8.5, 9.8) or the bare JIDs of one affiliation (ARGV[4]
-- 'affiliation', ARGV[5] owner, admin, member or outcast: 9.2, 9.5,
-- 10.5, 10.8); checked by the handler. Keys and ARGV[1]: lib/muc.lua;
-- reads only.
-- A role list is for moderators; the outcast and member lists for admins
-- and owners (and, in a members-only room where everyone sees real JIDs,
-- the member list for members: 9.5); the admin and owner lists for
-- owners (and admins, where everyone sees real JIDs: 10.5, 10.8).
-- Returns { 'list', then nick, JID, role, affiliation of each } (a role
-- list: the occupant's first session's full JID; an affiliation list:
-- the bare JID, the nick of an occupant of that JID or '' (always '' for
-- outcasts), no role), { 'forbidden' } or { 'no-room' }.
-- include: lib/mam.lua
-- include: lib/muc.lua
-- include: lib/mucadmin.lua
if redis.call('EXISTS', KEYS[2]) == 0 then return { 'no-room' } end
local which = ARGV[5]
local r = { 'list' }
local occ = redis.call('HGETALL', KEYS[1])
if ARGV[4] == 'role' then
  local _, a = muc_occupant_of(ARGV[3])
  if not a or a.role ~= 'moderator' then return { 'forbidden' } end
  for i = 1, #occ, 2 do
    local o = cjson.decode(occ[i + 1])
    if o.role == which then
      for _, v in ipairs({ occ[i], o.jids[1], o.role, o.aff }) do r[#r + 1] = v end
    end
  end
  return r
end
local mine = muc_affiliation(string.match(ARGV[3], '^[^/]*'))
local conf = muc_config()
local open = conf.whois == 'anyone'
local rank = MUC_AFF_RANK[which]
if not (mine == 'owner' or
    (mine == 'admin' and (rank <= MUC_AFF_RANK.member or open)) or
    (mine == 'member' and which == 'member' and open and conf.members_only == '1')) then
  return { 'forbidden' }
end
local nicks = {}
if which ~= 'outcast' then
  for i = 1, #occ, 2 do nicks[muc_bare_of(cjson.decode(occ[i + 1]))] = occ[i] end
end
local all = redis.call('HGETALL', KEYS[4])
for i = 1, #all, 2 do
  if all[i + 1] == which then
    for _, v in ipairs({ nicks[all[i]] or '', all[i], '', which }) do r[#r + 1] = v end
  end
end
return r
