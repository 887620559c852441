-- Count one failed authentication against the counter KEYS[1] (an
-- account's or an address's: one call each, for they lie in different
-- hash slots of a cluster), living ARGV[1] seconds from its first
-- failure. A counter found without a TTL (set by hand) gets one, so none
-- outlives its window for ever.
-- Returns { 'counted', count }: the new count.
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('TTL', KEYS[1]) == -1 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return { 'counted', n }
