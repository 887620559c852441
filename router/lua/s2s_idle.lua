-- A remote domain with nothing waiting (no envelope, no verification) is
-- no longer marked as having work (router/s2s.h).
-- KEYS[1] its queue, KEYS[2] its verification list, KEYS[3] the shard
-- of the set of domains with work beside them (the route's slot:
-- router/s2s.c). ARGV[1] the domain.
-- Returns { 'idle' } (unmarked) or { 'busy' }.
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then
  return { 'busy' }
end
redis.call('SREM', KEYS[3], ARGV[1])
return { 'idle' }
