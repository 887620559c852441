-- The handler of a resumable session died (its record expired, attached):
-- detach the session instead of ending it, so that its client may still
-- resume it, until its last sign of life ARGV[5] plus its own detach
-- time ('dsecs', a BOSH session's inactivity), or ARGV[3] without one,
-- if that is after ARGV[6] (now).
-- KEYS[1] sessions hash, KEYS[2] expiry index (on a cluster its shard
-- beside the user's keys: store.h), KEYS[3] sm hash.
-- ARGV[1] resource, ARGV[2] stream id, ARGV[3] deadline, ARGV[4] bare JID.
-- Returns { 'adopted' }, or { 'no' } (not resumable, not that session's,
-- or already detached): the caller ends it.
-- include: lib/record.lua
-- include: lib/sm.lua
local rec = redis.call('HGET', KEYS[1], ARGV[1])
if not rec or record_get(rec, 'id') ~= ARGV[2] or record_detached(rec) then
  return { 'no' }
end
local st = redis.call('HMGET', KEYS[3], 'owner', 'resume', 'dsecs')
if st[1] ~= ARGV[2] or st[2] ~= '1' then
  return { 'no' }
end
local deadline = tonumber(ARGV[3])
if st[3] then
  deadline = tonumber(ARGV[5]) + tonumber(st[3])
end
if deadline <= tonumber(ARGV[6]) then
  return { 'no' }
end
sm_detach_record(KEYS[1], KEYS[2], ARGV[4], ARGV[1], rec, ARGV[2], tostring(deadline))
return { 'adopted' }
