-- Session ARGV[3] (a full JID), occupant ARGV[4] of room ARGV[2] as its
-- handler knows ('' none), reads the room's archive (XEP-0313 on a MUC
-- room: KEYS[5], lib/muc.lua's muc_archive); ARGV[5..] the query as
-- lib/mam.lua's mam_answer takes it, whose 'page' filter is the query's
-- 'with' ('' none): the room's JID (every message), room/nick (that
-- nick's messages), any other JID (nothing). Keys and ARGV[1]:
-- lib/muc.lua. The archive is trimmed to the retention policy first.
-- Who may read it: never an outcast; in a members-only room, its
-- members, admins and owners; in another room, those, its occupants,
-- and anyone when it is public, has no password and is not locked.
-- Returns mam_answer's { 'ok', ... } or { 'notfound' }, { 'forbidden' }
-- or { 'no-room' }.
-- include: lib/mam.lua
-- include: lib/muc.lua
if redis.call('EXISTS', KEYS[2]) == 0 then return { 'no-room' } end
local room, full, nick = ARGV[2], ARGV[3], ARGV[4]
local conf = muc_config()
local aff = muc_affiliation(string.match(full, '^[^/]*'))
local o = nick ~= '' and muc_occupant(nick)
local inside = o and muc_session_of(o, full)
local affiliated = aff == 'owner' or aff == 'admin' or aff == 'member'
local open = conf.public == '1' and conf.password == '' and conf.locked ~= '1'
if aff == 'outcast' or (conf.members_only == '1' and not affiliated) or
    not (affiliated or inside or open) then
  return { 'forbidden' }
end
local a = { unpack(ARGV, 5) }
local keep = nil
if a[1] == 'page' and a[5] ~= '' and a[5] ~= room then
  if string.sub(a[5], 1, #room + 1) ~= room .. '/' then return { 'ok', 1, 0 } end
  local by = string.sub(a[5], #room + 2)
  keep = function(e) return mam_field(e, 'n') == by end
end
return mam_answer(KEYS[5], nil, a, keep)
