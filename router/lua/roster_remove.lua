-- Remove a contact from the user's roster (and any pending request from
-- it). KEYS[1] roster hash, KEYS[2] roster version, KEYS[3] pending-in
-- hash. ARGV[1] contact bare JID.
-- Returns { 'removed', old item, new version }, or { 'absent', version }
-- when the roster had no such item (the version is then not raised).
local item = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
if not item then
  return { 'absent', redis.call('GET', KEYS[2]) or '0' }
end
redis.call('HDEL', KEYS[1], ARGV[1])
return { 'removed', item, tostring(redis.call('INCR', KEYS[2])) }
