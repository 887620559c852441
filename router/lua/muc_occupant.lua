#!lua flags=no-writes
-- Session ARGV[4], occupant ARGV[3] of room ARGV[2], asks for the full
-- JIDs of the sessions of occupant ARGV[5]: where an IQ to room/nick
-- goes (XEP-0045 7.x: the room forwards it, from the asker's occupant
-- JID), or where the answer to one goes back. Keys and ARGV[1]:
-- lib/muc.lua; reads only.
-- Returns { 'jids', full JID... }, { 'not-occupant' } (the asker is not
-- in the room) or { 'no-nick' }.
-- include: lib/mam.lua
-- include: lib/muc.lua
local o = muc_occupant(ARGV[3])
if not o or not muc_session_of(o, ARGV[4]) then return { 'not-occupant' } end
local t = muc_occupant(ARGV[5])
if not t then return { 'no-nick' } end
local r = { 'jids' }
for _, j in ipairs(t.jids) do r[#r + 1] = j end
return r
