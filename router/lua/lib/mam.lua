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
-- A room's archive (router/muc.h's :arch) is one more such stream,
-- without indexes, read by mam_answer too.

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

local MAM_MAXSEQ = '18446744073709551615'
local MAM_SCAN_MAX = 20000   -- entries one query may pass over (a filter)

local function mam_parts(id)
  local ms, seq = string.match(id, '^(%d+)%-(%d+)$')
  return tonumber(ms), tonumber(seq)
end

-- Is entry ID a before entry ID b?
local function mam_less(a, b)
  local am, as = mam_parts(a)
  local bm, bs = mam_parts(b)
  return am < bm or (am == bm and as < bs)
end

-- Answer a query on the archive at main (mam_query.lua's, a room's),
-- after trimming it, and idx if not nil, to the retention policy.
-- a: the mode and what follows it, as mam_query.lua's ARGV: a[1] mode,
-- a[2] now, a[3] count, a[4] age, then
--  'page': a[5] the filter (read by the caller, which makes keep of it),
--    a[6] start and a[7] end in ms ('' none: both inclusive), a[8]
--    after-id and a[9] before-id (archive ids, '' none: exclusive),
--    a[10] the XEP-0059 direction ('', 'after' or 'before') and a[11]
--    its archive id ('' with 'before': the last page), a[12] the page
--    size (>= 0). The page walks idx if not nil (its entries name
--    main's by ID), else main, and keeps the entries for which keep(e)
--    is true (keep nil: all). It is the first max matching entries
--    after the lower bounds, or with 'before' the last max before the
--    upper bounds; either way oldest first. complete: nothing matching
--    lies beyond the page in the direction of paging. count: how many
--    match, when that costs nothing (no bound, no keep; else -1).
--  'ids': a[5..] archive ids, returned oldest first.
--  'meta': the first and the last entry (their m '').
-- Returns { 'ok', complete (0/1), count, id, m, id, m, ... }, or
-- { 'notfound' } when an archive id given is not in the archive.
local function mam_answer(main, idx, a, keep)
  local mode = a[1]
  mam_trim(main, idx, tonumber(a[2]), tonumber(a[3]), tonumber(a[4]))

  -- The entry ID of archive id uid if the archive holds it, else nil.
  local function resolve(uid)
    local id, rand = mam_split(uid)
    if not id then return nil end
    local e = redis.call('XRANGE', main, id, id)[1]
    if not e or mam_field(e, 'r') ~= rand then return nil end
    return id
  end

  if mode == 'meta' then
    local first = redis.call('XRANGE', main, '-', '+', 'COUNT', 1)[1]
    local last = redis.call('XREVRANGE', main, '+', '-', 'COUNT', 1)[1]
    if not first then return { 'ok', 1, 0 } end
    return { 'ok', 1, -1, mam_uid(first), '', mam_uid(last), '' }
  end

  local out = { 'ok', 1, -1 }
  if mode == 'ids' then
    local got = {}
    for i = 5, #a do
      local id = resolve(a[i])
      if not id then return { 'notfound' } end
      got[#got + 1] = id
    end
    table.sort(got, mam_less)
    for _, id in ipairs(got) do
      local e = redis.call('XRANGE', main, id, id)[1]
      out[#out + 1] = mam_uid(e)
      out[#out + 1] = mam_field(e, 'm')
    end
    return out
  end

  -- 'page'. Bounds as inclusive entry IDs.
  local lo, hi = '0-0', MAM_MAXSEQ .. '-' .. MAM_MAXSEQ
  local function raise_lo(id) if mam_less(lo, id) then lo = id end end
  local function lower_hi(id) if mam_less(id, hi) then hi = id end end
  local function after(id)            -- the first ID past id
    local ms, seq = mam_parts(id)
    return string.format('%d-%d', ms, seq + 1)
  end
  local function before(id)           -- the last ID short of id
    local ms, seq = mam_parts(id)
    if seq > 0 then return string.format('%d-%d', ms, seq - 1) end
    return string.format('%d-%s', ms - 1, MAM_MAXSEQ)
  end
  local bounded = false
  if a[6] ~= '' then raise_lo(a[6] .. '-0'); bounded = true end
  if a[7] ~= '' then lower_hi(a[7] .. '-' .. MAM_MAXSEQ); bounded = true end
  for i, edge in ipairs({ a[8], a[9], a[11] }) do
    if edge ~= '' then
      local id = resolve(edge)
      if not id then return { 'notfound' } end
      if i == 1 or (i == 3 and a[10] == 'after') then raise_lo(after(id)) else lower_hi(before(id)) end
      if i < 3 then bounded = true end
    end
  end
  local max, backward = tonumber(a[12]), a[10] == 'before'
  local src = idx or main
  if not bounded and not keep then out[3] = redis.call('XLEN', src) end
  if mam_less(hi, lo) then return out end

  -- The page: walk from the edge paging starts at, keep what matches.
  local items, more, scanned = {}, false, 0
  local chunk = math.max(max + 1, 16)
  local cursor = backward and hi or lo
  while true do
    local batch
    if backward then
      batch = redis.call('XREVRANGE', src, cursor, lo, 'COUNT', chunk)
    else
      batch = redis.call('XRANGE', src, cursor, hi, 'COUNT', chunk)
    end
    for _, e in ipairs(batch) do
      local entry = e
      if keep and not keep(e) then entry = nil end
      if entry and idx then entry = redis.call('XRANGE', main, e[1], e[1])[1] end
      if entry then
        if #items == max then more = true; break end
        items[#items + 1] = entry
      end
    end
    scanned = scanned + #batch
    if more or #batch < chunk then break end
    if scanned >= MAM_SCAN_MAX then more = true; break end
    cursor = '(' .. batch[#batch][1]
  end
  out[2] = more and 0 or 1
  local from, to, step = 1, #items, 1
  if backward then from, to, step = #items, 1, -1 end
  for i = from, to, step do
    out[#out + 1] = mam_uid(items[i])
    out[#out + 1] = mam_field(items[i], 'm')
  end
  return out
end
