-- Bare JID ARGV[3] ('' the operator) destroys room ARGV[2] (XEP-0045
-- 10.9) for reason ARGV[4] ('' none), pointing to alternate venue
-- ARGV[5] (a room JID, '' none); ARGV[6] fresh random hex. Keys and
-- ARGV[1]: lib/muc.lua, KEYS[6] (the set of rooms) included.
-- Only an owner may. One event (t destroy: rs the reason, av the venue)
-- tells every occupant's handler that its occupant is out; the room's keys
-- go, its log a little later.
-- Returns { 'destroyed' }, { 'forbidden' } or { 'no-room' }.
-- include: lib/mam.lua
-- include: lib/muc.lua
if redis.call('EXISTS', KEYS[2]) == 0 then return { 'no-room' } end
if ARGV[3] ~= '' and muc_affiliation(ARGV[3]) ~= 'owner' then return { 'forbidden' } end
muc_event({ 't', 'destroy', 'rs', ARGV[4], 'av', ARGV[5] }, ARGV[6])
muc_destroy()
return { 'destroyed' }
