-- Deliver a message or IQ to a local user: the one decision that reads the
-- recipient's sessions and may write its offline store, taken atomically.
-- KEYS[1] account hash, KEYS[2] sessions hash, KEYS[3] offline list,
-- KEYS[4] session expiry index (on a cluster its shard beside the
-- user's keys: store.h), KEYS[5] carbons hash (lib/carbons.lua),
-- KEYS[6] the user's XEP-0191 blocklist set, KEYS[7] its XEP-0441
-- archiving preferences, KEYS[8] its XEP-0313 archive stream, KEYS[9]
-- its roster hash (lib/mam.lua).
-- ARGV[1] channel prefix "<prefix>{bare}", ARGV[2] resource or '',
-- ARGV[3] 'message', 'iq' or 'sent' (below), ARGV[4] type, ARGV[5] envelope to
-- publish ("stanza <accepted>\n" .. xml), ARGV[6] the XEP-0203 <delay/> element that
-- offline storage adds before the message's end tag ('' to store it as is),
-- ARGV[7] now, ARGV[8] session TTL, ARGV[9] offline cap, ARGV[10] bare JID,
-- ARGV[11] inbox key prefix "<prefix>{bare}:inbox:", ARGV[12] the sending
-- resource when a user writes to its own bare JID ('' otherwise),
-- ARGV[13] '1' when the message is eligible for XEP-0280 carbon copies
-- (lib/carbons.lua), else '', ARGV[14] the sender's full JID ('' or absent:
-- no blocklist check), ARGV[15] the other party's JID when the message
-- is to be archived (XEP-0313: '' or absent, not), ARGV[16] fresh random
-- hex for its archive id, ARGV[17] archive_max_count, ARGV[18]
-- archive_max_age, ARGV[19] archive_default (lib/mam.lua).
-- XEP-0313: a message accepted for the user (delivered, or stored
-- offline) is archived once, before its first copy goes out, unless the
-- user's preferences say not; every copy then carries its archive id in
-- an XEP-0359 <stanza-id by=bare/>, the offline one too, so offline
-- storage and the archive agree. What is not accepted is not archived.
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
-- Returns { outcome, count }: 'delivered' (count receivers, then how
-- many of them have a handler listening: 0 when only detached sessions'
-- inboxes keep it, which XEP-0357 push notifications are for), 'offline',
-- 'nouser', 'unavailable' (nobody to take it: answer service-unavailable),
-- 'full' (offline store at its cap), 'dropped' (RFC 6121 says ignore),
-- 'blocked'.
-- include: lib/record.lua
-- include: lib/stanza.lua
-- include: lib/carbons.lua
-- include: lib/mam.lua
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
if kind ~= 'sent' and blocks(ARGV[14]) then
  if mtype == 'error' or mtype == 'result' then return { 'dropped', 0 } end
  return { 'blocked', 0 }
end
-- The archive id of the message once archived; archive() does it, once.
local archived, uid = false, nil
local function archive()
  if archived then return end
  archived = true
  if not KEYS[8] or (ARGV[15] or '') == '' then return end
  local nl = string.find(env, '\n', 1, true)
  local xml = string.sub(env, nl + 1)
  uid = mam_add(KEYS[8], KEYS[7], KEYS[9], ARGV[15], xml, ARGV[16], now,
    tonumber(ARGV[17]), tonumber(ARGV[18]), ARGV[19])
  if uid then
    env = string.sub(env, 1, nl) .. stanza_append(xml, "<stanza-id xmlns='urn:xmpp:sid:0' by='" ..
      stanza_attr(ARGV[10]) .. "' id='" .. uid .. "'/>")
  end
end
-- The message was archived but is not accepted after all (it bounces):
-- its entry goes (never a hole: nobody has seen its id).
local function unarchive()
  if not uid then return end
  local id = mam_split(uid)
  redis.call('XDEL', KEYS[8], id)
  redis.call('XDEL', mam_index_key(KEYS[8], ARGV[15]), id)
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
local got, awake = {}, 0
local function publish(r, rec, e)
  if not e then archive() end
  local box = ARGV[11] .. r
  redis.call('RPUSH', box, e or env)
  if record_detached(rec) then
    if not e then got[r] = true end
    return 1
  end
  local n = redis.call('SPUBLISH', chan .. '/' .. r, 'inbox\n')
  if n > 0 and not e then awake = awake + 1 end
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
-- each carbons-enabled session it did not reach itself. Kind 'sent' is a
-- message this user sent to someone else: nothing is delivered but its
-- archive entry (ARGV[15]: the recipient) and its 'sent' copies, to every
-- carbons-enabled session except the sender's (ARGV[12]); the outcome is
-- 'delivered' with the number of copies.
local function carbons(skip, dir)
  if ARGV[13] ~= '1' then return 0, 0 end
  return carbons_copy(KEYS[5], KEYS[2], ARGV[10], skip, env, mtype, dir, live, publish)
end
if kind == 'sent' then
  archive()
  local n, enabled = carbons({ [ARGV[12]] = true }, 'sent')
  return { 'delivered', n, enabled }
end
if res ~= '' then
  local rec = redis.call('HGET', KEYS[2], res)
  if rec and live(rec) then
    local n = publish(res, rec)
    if n > 0 then
      carbons(got, 'received')
      return { 'delivered', n, awake }
    end
  end
  -- RFC 6121 8.5.3.2.1: no such resource. Only chat falls back to the
  -- bare JID; headline and error are ignored; the rest bounce.
  if mtype == 'headline' or mtype == 'error' then
    unarchive()
    return { 'dropped', 0 }
  end
  if kind == 'iq' or mtype ~= 'chat' then
    unarchive()
    return { 'unavailable', 0 }
  end
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
  return { 'delivered', delivered, awake }
end
if kind == 'iq' or mtype == 'groupchat' or mtype == 'headline' or mtype == 'error' or
    redis.call('LLEN', KEYS[3]) >= cap then
  unarchive()
  if kind == 'iq' or mtype == 'groupchat' then return { 'unavailable', 0 } end
  if mtype == 'headline' or mtype == 'error' then return { 'dropped', 0 } end
  return { 'full', 0 }
end
-- The stored form is made here, only when needed: the stanza with its
-- delay stamp inside.
archive()
local stored = string.sub(env, string.find(env, '\n', 1, true) + 1)
if delay ~= '' then stored = stanza_append(stored, delay) end
redis.call('RPUSH', KEYS[3], stored)
return { 'offline', 0 }
