-- Read one user's XEP-0313 archive (lib/mam.lua), after trimming it to the
-- retention policy (so no reader sees what has expired).
-- KEYS[1] the archive stream, KEYS[2] (only with a 'with' filter) the
-- index stream of that bare JID.
-- ARGV[1] mode, ARGV[2] now, ARGV[3] archive_max_count, ARGV[4]
-- archive_max_age, then by mode:
--  'page': ARGV[5] a full JID the index's f must equal ('' any), ARGV[6]
--    start and ARGV[7] end in ms ('' none: both inclusive), ARGV[8]
--    after-id and ARGV[9] before-id (archive ids, '' none: exclusive),
--    ARGV[10] the XEP-0059 direction ('', 'after' or 'before') and
--    ARGV[11] its archive id ('' with 'before': the last page), ARGV[12]
--    the page size (>= 0).
--    The page is the first max matching entries after the lower bounds,
--    or with 'before' the last max before the upper bounds; either way
--    oldest first. complete: nothing matching lies beyond the page in
--    the direction of paging. count: how many match, when that costs
--    nothing (no bound, no full JID; else -1).
--  'ids': ARGV[5..] archive ids, returned oldest first.
--  'meta': the first and the last entry (their m '').
-- Returns { 'ok', complete (0/1), count, id, m, id, m, ... }, or
-- { 'notfound' } when an archive id given is not in the archive.
-- include: lib/mam.lua
local mode, now = ARGV[1], tonumber(ARGV[2])
local main, idx = KEYS[1], KEYS[2]
mam_trim(main, idx, now, tonumber(ARGV[3]), tonumber(ARGV[4]))

local MAXSEQ = '18446744073709551615'
local SCAN_MAX = 20000     -- entries one query may pass over (a full-JID filter)

-- The entry ID of archive id uid if the archive holds it, else nil.
local function resolve(uid)
  local id, rand = mam_split(uid)
  if not id then return nil end
  local e = redis.call('XRANGE', main, id, id)[1]
  if not e or mam_field(e, 'r') ~= rand then return nil end
  return id
end

local function parts(id)
  local ms, seq = string.match(id, '^(%d+)%-(%d+)$')
  return tonumber(ms), tonumber(seq)
end

-- Is entry ID a before entry ID b?
local function less(a, b)
  local am, as = parts(a)
  local bm, bs = parts(b)
  return am < bm or (am == bm and as < bs)
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
  for i = 5, #ARGV do
    local id = resolve(ARGV[i])
    if not id then return { 'notfound' } end
    got[#got + 1] = id
  end
  table.sort(got, less)
  for _, id in ipairs(got) do
    local e = redis.call('XRANGE', main, id, id)[1]
    out[#out + 1] = mam_uid(e)
    out[#out + 1] = mam_field(e, 'm')
  end
  return out
end

-- 'page'. Bounds as inclusive entry IDs.
local lo, hi = '0-0', MAXSEQ .. '-' .. MAXSEQ
local function raise_lo(id) if less(lo, id) then lo = id end end
local function lower_hi(id) if less(id, hi) then hi = id end end
local function after(id)            -- the first ID past id
  local ms, seq = parts(id)
  return string.format('%d-%d', ms, seq + 1)
end
local function before(id)           -- the last ID short of id
  local ms, seq = parts(id)
  if seq > 0 then return string.format('%d-%d', ms, seq - 1) end
  return string.format('%d-%s', ms - 1, MAXSEQ)
end
local bounded = false
if ARGV[6] ~= '' then raise_lo(ARGV[6] .. '-0'); bounded = true end
if ARGV[7] ~= '' then lower_hi(ARGV[7] .. '-' .. MAXSEQ); bounded = true end
for i, edge in ipairs({ ARGV[8], ARGV[9], ARGV[11] }) do
  if edge ~= '' then
    local id = resolve(edge)
    if not id then return { 'notfound' } end
    if i == 1 or (i == 3 and ARGV[10] == 'after') then raise_lo(after(id)) else lower_hi(before(id)) end
    if i < 3 then bounded = true end
  end
end
local full, max, backward = ARGV[5], tonumber(ARGV[12]), ARGV[10] == 'before'
local src = idx or main
if not bounded and full == '' then out[3] = redis.call('XLEN', src) end
if less(hi, lo) then return out end

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
    if idx then
      entry = nil
      if full == '' or mam_field(e, 'f') == full then
        entry = redis.call('XRANGE', main, e[1], e[1])[1]
      end
    end
    if entry then
      if #items == max then more = true; break end
      items[#items + 1] = entry
    end
  end
  scanned = scanned + #batch
  if more or #batch < chunk then break end
  if scanned >= SCAN_MAX then more = true; break end
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
