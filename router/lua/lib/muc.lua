-- lib/muc.lua - one XEP-0045 room, as router/muc.h defines it, for the
-- muc_*.lua scripts. Every script takes the same keys and first
-- arguments: KEYS[1] <prefix>{room}:occ, KEYS[2] :conf, KEYS[3] :log,
-- KEYS[4] :aff; ARGV[1] the room channel <prefix>{room}, ARGV[2] the
-- room's bare JID. Needs lib/mam.lua (archive ids) before it.

local MUC_LOG_MAX = 1000     -- entries a room's log keeps (muc.h)
local MUC_LOG_LINGER = 60    -- seconds an emptied room's log stays
local MUC_STATUS_NICK = '303'  -- XEP-0045: the occupant's nick changed

-- The occupant record of nick (a table), or nil.
local function muc_occupant(nick)
  local v = redis.call('HGET', KEYS[1], nick)
  if not v then return nil end
  return cjson.decode(v)
end

local function muc_occupant_set(nick, o)
  redis.call('HSET', KEYS[1], nick, cjson.encode(o))
end

-- The index of session full in occupant o's sessions, or nil.
local function muc_session_of(o, full)
  for i, j in ipairs(o.jids) do
    if j == full then return i end
  end
  return nil
end

-- Append an event (fields: a flat list of name, value) with random hex
-- rand to the log, wake every occupant's handler, and return the
-- event's log entry ID and its stanza-id.
local function muc_event(fields, rand)
  local f = { 'XADD', KEYS[3], 'MAXLEN', '~', MUC_LOG_MAX, '*' }
  for _, v in ipairs(fields) do f[#f + 1] = v end
  f[#f + 1] = 'r'
  f[#f + 1] = rand
  local id = redis.call(unpack(f))
  redis.call('PUBLISH', ARGV[1], 'muc ' .. ARGV[2] .. '\n')
  return id, mam_uid({ id, { 'r', rand } })
end

-- A presence event of nick's occupant o from session full.
local function muc_presence(nick, full, o, ptype, last, codes, xml, rand)
  return muc_event({ 't', 'presence', 'n', nick, 'j', full, 'ro', o.role, 'af', o.aff,
    'ty', ptype, 'la', last, 'c', codes, 'x', xml }, rand)
end

-- The room lost its last occupant: it goes (rooms are not persistent
-- yet), its log a little later, read by the handlers still in it.
local function muc_destroy_if_empty()
  if redis.call('HLEN', KEYS[1]) > 0 then return end
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[4])
  redis.call('EXPIRE', KEYS[3], MUC_LOG_LINGER)
end
