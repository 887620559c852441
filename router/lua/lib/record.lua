-- lib/record.lua - the session record and the expiry index member, as
-- session.h defines them, for the scripts that read or rewrite them.
-- A script takes it with a line "-- include: lib/record.lua", which
-- tests/embed-lua.sh replaces by this text (so the embedded script and
-- its SHA-1 include it). router/format.c is the C side of the same
-- format; change both together.
--
-- The record: space-separated name=value pairs, values without spaces,
--   "id=<stream id> prio=<n> avail=<0|1> host=<host> pid=<pid> since=<unix> seen=<unix>
--    det=<unix>"
-- det is 0 for an attached session, else the time a detached session
-- (XEP-0198, its connection lost) may be resumed until.
-- The expiry member: "<stream id> <bare>/<resource>".

-- The value of field name of rec (a string), or nil when it has none.
local function record_get(rec, name)
  return string.match(' ' .. rec, ' ' .. name .. '=(%S*)')
end

-- Field name of rec as a number, or dflt when absent or not a number.
local function record_num(rec, name, dflt)
  return tonumber(record_get(rec, name) or '') or dflt
end

-- rec with field name set to value (a string or number, no spaces); a
-- field rec does not have is not added.
local function record_set(rec, name, value)
  local out = string.gsub(' ' .. rec, ' ' .. name .. '=%S*',
    function() return ' ' .. name .. '=' .. value end, 1)
  return string.sub(out, 2)
end

-- Is the session alive: its handler refreshed seen within ttl seconds,
-- or it is detached and still resumable?
local function record_live(rec, now, ttl)
  local det = record_num(rec, 'det', 0)
  if det > 0 then return now < det end
  return now - record_num(rec, 'seen', 0) <= ttl
end

-- Is the session detached (no handler listens; its inbox keeps what
-- comes for it until it is resumed or expires)?
local function record_detached(rec)
  return record_num(rec, 'det', 0) > 0
end

-- Has the session sent available presence?
local function record_avail(rec)
  return record_get(rec, 'avail') == '1'
end

-- The session's member of the expiry index.
local function expiry_member(id, bare, resource)
  return id .. ' ' .. bare .. '/' .. resource
end
