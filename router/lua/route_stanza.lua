-- Deliver a message or IQ to a local user: the one decision that reads the
-- recipient's sessions and may write its offline store, taken atomically.
-- KEYS[1] account hash, KEYS[2] sessions hash, KEYS[3] offline list,
-- KEYS[4] session expiry index, KEYS[5] carbons hash (lib/carbons.lua),
-- KEYS[6] the user's XEP-0191 blocklist set.
-- ARGV[1] channel prefix "<prefix>{bare}", ARGV[2] resource or '',
-- ARGV[3] 'message', 'iq' or 'carbons' (below), ARGV[4] type, ARGV[5] envelope to
-- publish ("stanza <accepted>\n" .. xml), ARGV[6] the XEP-0203 <delay/> element that
-- offline storage adds before the message's end tag ('' to store it as is),
-- ARGV[7] now, ARGV[8] session TTL, ARGV[9] offline cap, ARGV[10] bare JID,
-- ARGV[11] inbox key prefix "<prefix>{bare}:inbox:", ARGV[12] the sending
-- resource when a user writes to its own bare JID ('' otherwise),
-- ARGV[13] '1' when the message is eligible for XEP-0280 carbon copies
-- (lib/carbons.lua), else '', ARGV[14] the sender's full JID ('' or absent:
-- no blocklist check).
-- XEP-0191 3.3: a message or IQ from a JID the user blocks (the JID
-- itself, its bare JID or its domain is in KEYS[6]; never the user's own
-- JID) never reaches the user: 'blocked' (the sender gets
-- service-unavailable) for a message and an IQ get or set, 'dropped' for
-- what needs no answer (errors, IQ results).
-- The sender's own copy of such a message is marked an echo ("stanza
-- <accepted> echo") when another resource got the message too: its
-- handler need not keep it for a second delivery, which would only
-- duplicate it.
-- A stanza for a session goes into that session's inbox list (durable:
-- pub/sub alone is at most once) and a wake-up "inbox" is published on
-- its full-JID channel; the handler takes from the inbox, and whatever a
-- session leaves there is routed again when it ends or is reaped.
-- Returns { outcome, count }: 'delivered' (count receivers), 'offline',
-- 'nouser', 'unavailable' (nobody to take it: answer service-unavailable),
-- 'full' (offline store at its cap), 'dropped' (RFC 6121 says ignore),
-- 'blocked'.
-- include: lib/record.lua
-- include: lib/carbons.lua
local chan, res, kind, mtype, env, delay = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local now, ttl, cap = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
if redis.call('EXISTS', KEYS[1]) == 0 then
  return { 'nouser', 0 }
end
-- Does the user block sender (a full JID, or a bare one)? Never the
-- user's own resources, even under a domain the user blocks.
local function blocks(sender)
  if not KEYS[6] or not sender or sender == '' then return false end
  local bare = string.match(sender, '^[^/]*')
  if bare == ARGV[10] then return false end
  local domain = string.match(bare, '@(.*)$') or bare
  return redis.call('SISMEMBER', KEYS[6], sender) == 1 or
    redis.call('SISMEMBER', KEYS[6], bare) == 1 or
    redis.call('SISMEMBER', KEYS[6], domain) == 1
end
if kind ~= 'carbons' and blocks(ARGV[14]) then
  if mtype == 'error' or mtype == 'result' then return { 'dropped', 0 } end
  return { 'blocked', 0 }
end
local function live(rec)
  return record_live(rec, now, ttl)
end
-- A record whose handler no longer listens is a dead session: take the
-- stanza back (unless the session is resumable), and expire the session
-- now so the reaper broadcasts its unavailable presence.
-- A detached session (XEP-0198) has no listener: its inbox keeps the
-- stanza until the session is resumed or expires (then it is routed
-- again), so it counts as one receiver.
-- e: another envelope than the stanza's (a carbon copy); got: the
-- resources the stanza itself reached.
local got = {}
local function publish(r, rec, e)
  local box = ARGV[11] .. r
  redis.call('RPUSH', box, e or env)
  if record_detached(rec) then
    if not e then got[r] = true end
    return 1
  end
  local n = redis.call('PUBLISH', chan .. '/' .. r, 'inbox\n')
  if n == 0 then
    local id = record_get(rec, 'id') or ''
    redis.call('ZADD', KEYS[4], 0, expiry_member(id, ARGV[10], r))
    -- A resumable session (XEP-0198) outlives its handler: the reaper,
    -- woken by the expiry above, detaches it (sm_adopt.lua); meanwhile
    -- its inbox keeps the stanza.
    local sm = redis.call('HMGET', string.sub(ARGV[11], 1, -7) .. 'sm:' .. r, 'owner', 'resume')
    if sm[1] == id and sm[2] == '1' then
      if not e then got[r] = true end
      return 1
    end
    redis.call('RPOP', box)
  elseif not e then
    got[r] = true
  end
  return n
end
-- XEP-0280 message carbons. A message delivered gets a 'received' copy to
-- each carbons-enabled session it did not reach itself. Kind 'carbons' is
-- a message this user sent to someone else: nothing is delivered but its
-- 'sent' copies, to every carbons-enabled session except the sender's
-- (ARGV[12]); the outcome is 'delivered' with the number of copies.
local function carbons(skip, dir)
  if ARGV[13] ~= '1' then return 0, 0 end
  return carbons_copy(KEYS[5], KEYS[2], ARGV[10], skip, env, mtype, dir, live, publish)
end
if kind == 'carbons' then
  local n, enabled = carbons({ [ARGV[12]] = true }, 'sent')
  return { 'delivered', n, enabled }
end
if res ~= '' then
  local rec = redis.call('HGET', KEYS[2], res)
  if rec and live(rec) then
    local n = publish(res, rec)
    if n > 0 then
      carbons(got, 'received')
      return { 'delivered', n }
    end
  end
  -- RFC 6121 8.5.3.2.1: no such resource. Only chat falls back to the
  -- bare JID; headline and error are ignored; the rest bounce.
  if mtype == 'headline' or mtype == 'error' then return { 'dropped', 0 } end
  if kind == 'iq' or mtype ~= 'chat' then return { 'unavailable', 0 } end
end
local delivered = 0
if kind == 'message' and mtype ~= 'groupchat' then
  local all, sender = redis.call('HGETALL', KEYS[2]), nil
  for i = 1, #all, 2 do
    local rec = all[i + 1]
    if record_avail(rec) and record_num(rec, 'prio', -1) >= 0 and live(rec) then
      if all[i] == ARGV[12] then
        sender = rec
      else
        delivered = delivered + publish(all[i], rec)
      end
    end
  end
  if sender then
    if delivered > 0 then
      local nl = string.find(env, '\n', 1, true)
      env = string.sub(env, 1, nl - 1) .. ' echo' .. string.sub(env, nl)
    end
    delivered = delivered + publish(ARGV[12], sender)
  end
end
if delivered > 0 then
  carbons(got, 'received')
  return { 'delivered', delivered }
end
if kind == 'iq' or mtype == 'groupchat' then return { 'unavailable', 0 } end
if mtype == 'headline' or mtype == 'error' then return { 'dropped', 0 } end
if redis.call('LLEN', KEYS[3]) >= cap then return { 'full', 0 } end
-- The stored form is made here, only when needed: the stanza with its
-- delay stamp inside (xmppd writes "</message>" or "/>" at the end).
local stored = string.sub(env, string.find(env, '\n', 1, true) + 1)
if delay ~= '' then
  if string.sub(stored, -10) == '</message>' then
    stored = string.sub(stored, 1, -11) .. delay .. '</message>'
  elseif string.sub(stored, -2) == '/>' then
    stored = string.sub(stored, 1, -3) .. '>' .. delay .. '</message>'
  end
end
redis.call('RPUSH', KEYS[3], stored)
return { 'offline', 0 }
