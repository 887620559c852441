-- Queue an envelope for a remote domain (router/s2s.h), unless its queue
-- is full; the domain is marked as having work and the outbound
-- dispatchers are woken.
-- KEYS[1] the domain's queue, KEYS[2] the set of domains with work.
-- ARGV[1] the envelope, ARGV[2] the queue's most entries, ARGV[3] the
-- domain, ARGV[4] the wake channel.
-- Returns { 'queued' } or { 'full' } (nothing changed).
if redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[2]) then
  return { 'full' }
end
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[3])
return { 'queued' }
