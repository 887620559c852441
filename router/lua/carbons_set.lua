-- XEP-0280: a session enables or disables message carbons, or a session
-- that ended leaves no carbons behind (lib/carbons.lua: the hash).
-- KEYS[1] carbons hash, KEYS[2] sessions hash.
-- ARGV[1] resource, ARGV[2] 'on' or 'off', ARGV[3] the session's stream id,
-- or '' for a session that was reaped (its id unknown to the reaper).
-- 'on' sets the resource's field to the id. 'off' removes the field if the
-- id is the session's own: a session replaced by a newer one of the same
-- resource must not turn off its successor's carbons. With id '' the field
-- goes unless the resource's current session record carries its id.
-- Returns { 'done' }.
-- include: lib/record.lua
local res, op, id = ARGV[1], ARGV[2], ARGV[3]
if op == 'on' then
  redis.call('HSET', KEYS[1], res, id)
  return { 'done' }
end
local cur = redis.call('HGET', KEYS[1], res)
if not cur then
  return { 'done' }
end
if id == '' then
  local rec = redis.call('HGET', KEYS[2], res)
  if not rec or record_get(rec, 'id') ~= cur then
    redis.call('HDEL', KEYS[1], res)
  end
elseif cur == id then
  redis.call('HDEL', KEYS[1], res)
end
return { 'done' }
