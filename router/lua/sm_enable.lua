-- Enable stream management for session ARGV[1] (resource) of stream id
-- ARGV[2]: XEP-0198 id ARGV[3], resumable if ARGV[4] is '1', a detach
-- lasting ARGV[5] seconds ('': the server's resume_timeout). State left
-- by an earlier session of the resource is replaced (its unacknowledged
-- stanzas were moved to the inbox by sm_end when it was replaced).
-- KEYS[1] sessions hash, KEYS[2] sm hash, KEYS[3] smq list, KEYS[4] smids.
-- Returns { 'enabled' }, or { 'taken' } when the record is not ours.
-- include: lib/record.lua
local rec = redis.call('HGET', KEYS[1], ARGV[1])
if not rec or record_get(rec, 'id') ~= ARGV[2] then
  return { 'taken' }
end
local old = redis.call('HGET', KEYS[2], 'id')
if old then
  redis.call('HDEL', KEYS[4], old)
end
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('HSET', KEYS[2], 'id', ARGV[3], 'owner', ARGV[2], 'resume', ARGV[4],
  'hin', '0', 'acked', '0')
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[2], 'dsecs', ARGV[5])
end
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[4], ARGV[3], ARGV[1])
end
return { 'enabled' }
