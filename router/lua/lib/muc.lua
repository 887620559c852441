-- lib/muc.lua - one XEP-0045 room, as router/muc.h defines it, for the
-- muc_*.lua scripts. Every script takes the same keys and first
-- arguments: KEYS[1] <prefix>{room}:occ, KEYS[2] :conf, KEYS[3] :log,
-- KEYS[4] :aff, KEYS[5] :arch (the room's archive); ARGV[1] the room
-- channel <prefix>{room}, ARGV[2] the room's bare JID. The scripts that
-- may make or destroy the room (muc_join, muc_leave, muc_config_set,
-- muc_destroy, muc_role_set, muc_aff_set) take KEYS[6] too: the shard
-- of the set of rooms beside the room's keys (<prefix>rooms on one
-- Redis, <prefix>rooms:{TAG} on a cluster: store.h's store_shard_key),
-- so that every script touches the room's slot only. Needs lib/mam.lua
-- (archive ids, trimming) before it.

local MUC_LOG_MAX = 1000     -- entries a room's log keeps (muc.h)
local MUC_LOG_LINGER = 60    -- seconds an emptied room's log stays
local MUC_STATUS_NICK = '303'  -- XEP-0045: the occupant's nick changed

-- A room's configuration (:conf, muc.h) where the owner set nothing.
local MUC_CONFIG_DEFAULTS = {
  locked = '0', name = '', desc = '', persistent = '0', public = '1',
  members_only = '0', moderated = '0', password = '', whois = 'moderators',
  history = '20', allow_pm = 'anyone', change_subject = '0',
  allow_invites = '0', max_users = '0', logging = '1',
}

-- The room's configuration, a table of strings, defaults filled in.
local function muc_config()
  local c = {}
  for k, v in pairs(MUC_CONFIG_DEFAULTS) do c[k] = v end
  local all = redis.call('HGETALL', KEYS[2])
  for i = 1, #all, 2 do c[all[i]] = all[i + 1] end
  return c
end

-- One field of the room's configuration, its default when unset.
local function muc_config_get(name)
  return redis.call('HGET', KEYS[2], name) or MUC_CONFIG_DEFAULTS[name]
end

-- The affiliation of bare JID bare: owner, admin, member, outcast, none.
local function muc_affiliation(bare)
  return redis.call('HGET', KEYS[4], bare) or 'none'
end

-- The role an occupant of affiliation aff gets on joining (XEP-0045 5.1.2).
local function muc_default_role(aff, conf)
  if aff == 'owner' or aff == 'admin' then return 'moderator' end
  if conf.moderated == '1' and aff ~= 'member' then return 'visitor' end
  return 'participant'
end

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
-- event's log entry ID and its stanza-id. A groupchat message (msg: its
-- nick and stanza) rides in the wake-up itself, with the entry before
-- it: a handler that read up to that entry writes it without reading
-- the log (route.h).
local function muc_event(fields, rand, msg)
  local f = { 'XADD', KEYS[3], 'MAXLEN', '~', MUC_LOG_MAX, '*' }
  for _, v in ipairs(fields) do f[#f + 1] = v end
  f[#f + 1] = 'r'
  f[#f + 1] = rand
  local prev = '0'
  if msg then
    local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
    if last[1] then prev = last[1][1] end
  end
  local id = redis.call(unpack(f))
  if msg then
    redis.call('SPUBLISH', ARGV[1], 'muc ' .. ARGV[2] .. ' ' .. id .. ' ' .. prev .. ' ' ..
      rand .. '\n' .. msg.nick .. '\n' .. msg.x)
  else
    redis.call('SPUBLISH', ARGV[1], 'muc ' .. ARGV[2] .. '\n')
  end
  return id, mam_uid({ id, { 'r', rand } })
end

-- XML attribute escapes, for the JIDs the scripts write into stanzas.
local MUC_XML_ESCAPES = { ['&'] = '&amp;', ['<'] = '&lt;', ['>'] = '&gt;',
  ["'"] = '&apos;', ['"'] = '&quot;' }

-- The room archive (KEYS[5]) keeps groupchat message xml (no 'from' nor
-- 'to') that session full sent as nick, under log entry ID id and random
-- hex rand, so that its archive id is the stanza-id everyone saw; m is
-- the message as XEP-0313 forwards it, from room/nick. Then trimmed as
-- a user archive is (now, count, age: lib/mam.lua's mam_trim).
local function muc_archive(id, nick, full, xml, rand, now, count, age)
  local m = xml
  if string.sub(xml, 1, 8) == '<message' then
    local from = string.gsub(ARGV[2] .. '/' .. nick, "[&<>'\"]", MUC_XML_ESCAPES)
    m = "<message from='" .. from .. "'" .. string.sub(xml, 9)
  end
  -- An archive left with later IDs (a clock set back) refuses the entry.
  redis.pcall('XADD', KEYS[5], id, 'n', nick, 'j', full, 'r', rand, 'm', m)
  mam_trim(KEYS[5], nil, now, count, age, true)
end

-- A presence event of nick's occupant o from session full.
local function muc_presence(nick, full, o, ptype, last, codes, xml, rand)
  return muc_event({ 't', 'presence', 'n', nick, 'j', full, 'ro', o.role, 'af', o.aff,
    'ty', ptype, 'la', last, 'c', codes, 'x', xml }, rand)
end

-- The room goes: its keys and archive, and its log a little later, read
-- by the handlers still in it (KEYS[6], the set of rooms, needed).
local function muc_destroy()
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[4], KEYS[5])
  redis.call('SREM', KEYS[6], ARGV[2])
  redis.call('EXPIRE', KEYS[3], MUC_LOG_LINGER)
end

-- A room that is not persistent goes with its last occupant.
local function muc_destroy_if_empty()
  if redis.call('HLEN', KEYS[1]) > 0 then return end
  if redis.call('HGET', KEYS[2], 'persistent') == '1' then return end
  muc_destroy()
end

-- Occupant nick (record o) is removed from the room, every session of
-- it, by actor nick actor ('' none) for reason ('' none) with status
-- codes (XEP-0045 8.2 kick 307, 9.1 ban 301, 9.4 membership 321, 9.7
-- members-only 322), with its affiliation now aff: one unavailable
-- event every handler of the nick's sessions reads as its removal.
local function muc_remove(nick, o, aff, codes, actor, reason, rand)
  redis.call('HDEL', KEYS[1], nick)
  return muc_event({ 't', 'presence', 'n', nick, 'j', o.jids[1], 'ro', 'none', 'af', aff,
    'ty', 'unavailable', 'la', '1', 'c', codes, 'ac', actor, 'rs', reason,
    'x', o.pres or '' }, rand)
end
