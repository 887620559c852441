-- Session ARGV[4] (a full JID) joins room ARGV[2] as nick ARGV[3] with
-- presence ARGV[5] (no 'from' nor 'to'); ARGV[6] fresh random hex,
-- ARGV[7] now, ARGV[8] the password the client gave ('' none), ARGV[9]
-- '1' if the joiner may create rooms (xmpp.conf muc_creators). Keys and
-- ARGV[1]: lib/muc.lua, KEYS[6] (the set of rooms) included.
-- The first join creates the room, locked (XEP-0045 10.1.1) until its
-- owner submits the configuration form (muc_config_set.lua): the joiner
-- is its owner and a moderator, its presence event carries status 201.
-- Entry is refused, in XEP-0045 7.2's order, to a locked room's
-- non-owners, to outcasts (7.2.7), to non-members of a members-only room
-- (7.2.5), without the password (7.2.6; owners need none), to a full
-- room (7.2.9: owners and admins still enter), and to a nick another
-- user holds (7.2.8). A nick may hold several sessions of one bare JID.
-- A session already in under that nick changes its presence. Every
-- change is one log event and one wake-up.
-- Returns { 'not-allowed' (no such room, and the joiner may not make
-- it) |'locked'|'banned'|'members-only'|'password'|'full'|'conflict' },
-- or { 'created'|'joined'|'updated', entry ID, role, affiliation, whois,
-- logging, history (the most messages of history a joiner gets),
-- subject nick, subject stanza, then nick, full JID, role, affiliation,
-- presence of every other occupant }.
-- include: lib/mam.lua
-- include: lib/muc.lua
local nick, full, xml, rand = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local bare = string.match(full, '^[^/]*')
local outcome, codes = 'joined', ''
if redis.call('EXISTS', KEYS[2]) == 0 then
  if ARGV[9] ~= '1' then return { 'not-allowed' } end
  -- A new room: what an earlier room of that name left goes.
  redis.call('DEL', KEYS[1], KEYS[3], KEYS[4], KEYS[5])
  redis.call('HSET', KEYS[2], 'created', ARGV[7], 'locked', 1)
  redis.call('HSET', KEYS[4], bare, 'owner')
  redis.call('SADD', KEYS[6], ARGV[2])
  outcome, codes = 'created', '201'
end
local conf = muc_config()
local aff = muc_affiliation(bare)
local o = muc_occupant(nick)
local inside = o and muc_session_of(o, full)
if not inside then
  if conf.locked == '1' and aff ~= 'owner' then return { 'locked' } end
  if aff == 'outcast' then return { 'banned' } end
  if conf.members_only == '1' and aff == 'none' then return { 'members-only' } end
  if conf.password ~= '' and aff ~= 'owner' and ARGV[8] ~= conf.password then
    return { 'password' }
  end
  if not o and tonumber(conf.max_users) > 0 and aff ~= 'owner' and aff ~= 'admin' and
      redis.call('HLEN', KEYS[1]) >= tonumber(conf.max_users) then
    return { 'full' }
  end
  if o and string.match(o.jids[1], '^[^/]*') ~= bare then return { 'conflict' } end
end
if inside then
  outcome = 'updated'
elseif o then
  o.jids[#o.jids + 1] = full
else
  o = { jids = { full }, role = muc_default_role(aff, conf), aff = aff }
end
o.pres = xml
muc_occupant_set(nick, o)
local id = muc_presence(nick, full, o, '', '0', codes, xml, rand)
local r = { outcome, id, o.role, o.aff, conf.whois, conf.logging, conf.history,
  conf.subject_nick or '', conf.subject or '' }
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if all[i] ~= nick then
    local p = cjson.decode(all[i + 1])
    for _, v in ipairs({ all[i], p.jids[1], p.role, p.aff, p.pres or '' }) do r[#r + 1] = v end
  end
end
return r
