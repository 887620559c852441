#!lua flags=no-writes
-- Is session ARGV[4] in room ARGV[2] as nick ARGV[3]? XEP-0410 self-ping
-- asks the room, not the handler's memory of it. Keys and ARGV[1]:
-- lib/muc.lua; reads only.
-- Returns { 'joined' } or { 'not-occupant' }.
-- include: lib/mam.lua
-- include: lib/muc.lua
local o = muc_occupant(ARGV[3])
if o and muc_session_of(o, ARGV[4]) then return { 'joined' } end
return { 'not-occupant' }
