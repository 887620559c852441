-- The handler of a resumable session died (its record expired, attached):
-- detach the session instead of ending it, so that its client may still
-- resume it, until ARGV[3].
-- KEYS[1] sessions hash, KEYS[2] expiry index, KEYS[3] sm hash.
-- ARGV[1] resource, ARGV[2] stream id, ARGV[3] deadline, ARGV[4] bare JID.
-- Returns { 'adopted' }, or { 'no' } (not resumable, not that session's,
-- or already detached): the caller ends it.
-- include: lib/record.lua
-- include: lib/sm.lua
local rec = redis.call('HGET', KEYS[1], ARGV[1])
if not rec or record_get(rec, 'id') ~= ARGV[2] or record_detached(rec) then
  return { 'no' }
end
local st = redis.call('HMGET', KEYS[3], 'owner', 'resume')
if st[1] ~= ARGV[2] or st[2] ~= '1' then
  return { 'no' }
end
sm_detach_record(KEYS[1], KEYS[2], ARGV[4], ARGV[1], rec, ARGV[2], ARGV[3])
return { 'adopted' }
