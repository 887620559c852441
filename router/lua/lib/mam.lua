-- lib/mam.lua - the XEP-0313 message archive of one user, as router/mam.h
-- defines it, for the scripts that write, trim and read it. A script takes
-- it with "-- include: lib/mam.lua".
--
-- <prefix>{bare}:mam         stream, one entry per archived message, in
--   the order the server accepted them: w (the other party's JID, as the
--   message's 'to' or 'from' gave it), r (random hex), m (the message).
--   The archive id (XEP-0359 stanza-id, XEP-0313 UID) is "<entry ID>-<r>":
--   found in O(log n) by its entry ID, and unpredictable by its r.
-- <prefix>{bare}:mam:w:<jid>  stream, the index of one other party's bare
--   JID <jid>: the same entry IDs, f (that party's JID, as w).
-- <prefix>{bare}:mam:with     set: the <jid> of every index stream.
-- <prefix>{bare}:mamprefs     hash (XEP-0441): 'default' -> always, roster
--   or never (absent: the server's archive_default), 'j:<jid>' -> always
--   or never for one JID, bare or full.
-- Retention trims the oldest entries only (XEP-0313 3.2: no holes): the
-- archive when it is written or read, an index when it is read or written
-- after a trim, and one index more on each write that trimmed, so that
-- none keeps stale entries for long without a scan of them all.

-- The entry ID and the random part of archive id uid, or nil.
local function mam_split(uid)
  return string.match(uid, '^(%d+%-%d+)%-(%x+)$')
end

-- The archive id of a stream entry { id, { field, value, ... } }.
local function mam_uid(entry)
  local f = entry[2]
  for i = 1, #f, 2 do
    if f[i] == 'r' then return entry[1] .. '-' .. f[i + 1] end
  end
  return entry[1] .. '-0'
end

-- Field name of stream entry { id, fields }, or nil.
local function mam_field(entry, name)
  local f = entry[2]
  for i = 1, #f, 2 do
    if f[i] == name then return f[i + 1] end
  end
  return nil
end

-- The index stream of jid's bare JID in the archive at key.
local function mam_index_key(key, jid)
  return key .. ':w:' .. string.match(jid, '^[^/]*')
end

-- Trim the archive at key to count entries (0: no cap) and to what is
-- younger than age seconds before now (0: no limit); then, if that
-- removed anything or lazy is false, the index at idx (if not nil) to
-- what the archive still holds, dropping it when nothing is left.
-- Returns whether the archive lost entries. Cost: the entries removed
-- (and, when the archive empties, one DEL per index), never a scan of
-- what stays.
local function mam_trim(key, idx, now, count, age, lazy)
  local gone = 0
  if count > 0 then gone = gone + redis.call('XTRIM', key, 'MAXLEN', count) end
  if age > 0 then gone = gone + redis.call('XTRIM', key, 'MINID', (now - age) * 1000) end
  if lazy and gone == 0 then return false end
  local first = redis.call('XRANGE', key, '-', '+', 'COUNT', 1)[1]
  if not first then
    -- Nothing left (an empty stream would stay): no index has anything.
    for _, w in ipairs(redis.call('SMEMBERS', key .. ':with')) do
      redis.call('DEL', key .. ':w:' .. w)
    end
    redis.call('DEL', key, key .. ':with')
    return gone > 0
  end
  if not idx then return gone > 0 end
  redis.call('XTRIM', idx, 'MINID', first[1])
  if redis.call('XLEN', idx) == 0 then
    redis.call('DEL', idx)
    redis.call('SREM', key .. ':with', string.sub(idx, #key + 4))
  end
  return gone > 0
end

-- Does the user archive a message with peer (XEP-0441 6: a full JID
-- listed decides first, then its bare JID, then the default, whose
-- 'roster' asks whether the bare JID is in the roster hash)?
local function mam_wanted(prefs, roster, peer, dflt)
  local bare = string.match(peer, '^[^/]*')
  local p = redis.call('HMGET', prefs, 'default', 'j:' .. peer, 'j:' .. bare)
  local v = p[2] or p[3]
  if v then return v == 'always' end
  local d = p[1] or dflt
  if d == 'roster' then return redis.call('HEXISTS', roster, bare) == 1 end
  return d == 'always'
end

-- Archive message xml with peer in the archive at key, unless the user's
-- preferences say not to; rand: fresh random hex from the handler. Then
-- trim (count, age: as mam_trim). Returns the archive id, or nil.
local function mam_add(key, prefs, roster, peer, xml, rand, now, count, age, dflt)
  if not mam_wanted(prefs, roster, peer, dflt) then return nil end
  local id = redis.call('XADD', key, '*', 'w', peer, 'r', rand, 'm', xml)
  local idx = mam_index_key(key, peer)
  -- An index left with later IDs (an archive deleted by hand) refuses
  -- this one: the message stays archived, unindexed.
  redis.pcall('XADD', idx, id, 'f', peer)
  redis.call('SADD', key .. ':with', string.sub(idx, #key + 4))
  if mam_trim(key, idx, now, count, age, true) then
    local other = redis.call('SRANDMEMBER', key .. ':with')
    if other then mam_trim(key, key .. ':w:' .. other, now, 0, 0, false) end
  end
  return id .. '-' .. rand
end
