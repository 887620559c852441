-- Queue an envelope for a remote domain (router/s2s.h), unless its queue
-- is full; the domain is marked as having work and the outbound
-- dispatchers are woken. A component's route (KEYS[3] given) takes it
-- only while its lease is held, by a connected component or vacant
-- after one left (s2s_lease_vacate): otherwise nobody would read it.
-- KEYS[1] the domain's queue, KEYS[2] the shard of the set of domains
-- with work beside it (the route's slot: router/s2s.c), KEYS[3]
-- (optional) the route's lease.
-- ARGV[1] the envelope, ARGV[2] the queue's most entries, ARGV[3] the
-- domain, ARGV[4] the wake channel.
-- Returns { 'queued' }, { 'full' } or { 'absent' } (nothing changed).
if KEYS[3] and redis.call('EXISTS', KEYS[3]) == 0 then
  return { 'absent' }
end
if redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[2]) then
  return { 'full' }
end
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[3])
return { 'queued' }
