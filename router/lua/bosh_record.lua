-- Keep the answer to request ARGV[1] of a BOSH session for its replay,
-- with the session's stanza count at its end (xmpp-web(8) BOSH), if the
-- request's process still owns the session's stream management state:
-- a newer request that took it over sends what this one would have.
-- That state is the user's (another hash slot of a cluster): the caller
-- reads its owner first (boshsession.c, bosh_record), and this checks
-- that no request claimed the session since this one did ('cl',
-- bosh_claim.lua): a takeover begins with a claim, so none came between.
-- KEYS[1] the session's hash. ARGV[1] rid, ARGV[2] the answer, ARGV[3]
-- the count ('' none), ARGV[4] 'cl' as the request's claim returned it
-- ('' no state yet: no check), ARGV[5] when the request came (Unix ms)
-- if it was empty and so is its answer ('' otherwise), kept as 'pe' for
-- the polling check of the next one.
-- Returns { 'recorded' }, { 'taken' } or { 'none' } (no such session).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return { 'none' }
end
if ARGV[4] ~= '' and (redis.call('HGET', KEYS[1], 'cl') or '0') ~= ARGV[4] then
  return { 'taken' }
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
