-- Keep the answer to request ARGV[1] of a BOSH session for its replay,
-- with the session's stanza count at its end (xmpp-web(8) BOSH), if the
-- request's process still owns the session's stream management state:
-- a newer request that took it over sends what this one would have.
-- KEYS[1] the session's hash, KEYS[2] its sm hash (unused when ARGV[4]
-- is ''). ARGV[1] rid, ARGV[2] the answer, ARGV[3] the count ('' none),
-- ARGV[4] the owner's stream id ('' no state yet: no check), ARGV[5]
-- when the request came (Unix ms) if it was empty and so is its answer
-- ('' otherwise), kept as 'pe' for the polling check of the next one.
-- Returns { 'recorded' }, { 'taken' } or { 'none' } (no such session).
if ARGV[4] ~= '' and redis.call('HGET', KEYS[2], 'owner') ~= ARGV[4] then
  return { 'taken' }
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  return { 'none' }
end
redis.call('HSET', KEYS[1], 'a:' .. ARGV[1], ARGV[2])
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[1], 'pe', ARGV[5])
else
  redis.call('HDEL', KEYS[1], 'pe')
end
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'n:' .. ARGV[1], ARGV[3], 'sent', ARGV[3])
end
return { 'recorded' }
