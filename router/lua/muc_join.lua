-- Session ARGV[4] (a full JID) joins room ARGV[2] as nick ARGV[3] with
-- presence ARGV[5] (no 'from' nor 'to'); ARGV[6] fresh random hex,
-- ARGV[7] now. Keys and ARGV[1]: lib/muc.lua.
-- The first join creates the room (instant, unlocked at once): the joiner
-- is its owner and a moderator, its presence event carries status 201.
-- A nick may hold several sessions of one bare JID; another user's nick
-- is a conflict. A session already in under that nick changes its
-- presence. Every change is one log event and one wake-up.
-- Returns { 'conflict' }, or { 'created'|'joined'|'updated', entry ID,
-- role, affiliation, then nick, full JID, role, affiliation, presence
-- of every other occupant }.
-- include: lib/mam.lua
-- include: lib/muc.lua
local nick, full, xml, rand = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local bare = string.match(full, '^[^/]*')
local outcome, codes = 'joined', ''
if redis.call('EXISTS', KEYS[2]) == 0 then
  -- A new room: what an earlier room of that name left goes.
  redis.call('DEL', KEYS[1], KEYS[3], KEYS[4])
  redis.call('HSET', KEYS[2], 'created', ARGV[7], 'locked', 0)
  redis.call('HSET', KEYS[4], bare, 'owner')
  outcome, codes = 'created', '201'
end
local o = muc_occupant(nick)
if o and string.match(o.jids[1], '^[^/]*') ~= bare then return { 'conflict' } end
if o and muc_session_of(o, full) then
  outcome = 'updated'
elseif o then
  o.jids[#o.jids + 1] = full
else
  local aff = redis.call('HGET', KEYS[4], bare) or 'none'
  local role = 'participant'
  if aff == 'owner' or aff == 'admin' then role = 'moderator' end
  o = { jids = { full }, role = role, aff = aff }
end
o.pres = xml
muc_occupant_set(nick, o)
local id = muc_presence(nick, full, o, '', '0', codes, xml, rand)
local r = { outcome, id, o.role, o.aff }
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if all[i] ~= nick then
    local p = cjson.decode(all[i + 1])
    for _, v in ipairs({ all[i], p.jids[1], p.role, p.aff, p.pres or '' }) do r[#r + 1] = v end
  end
end
return r
