-- Count one failed authentication against each counter in KEYS (an
-- account's, an address's, or both), each living ARGV[1] seconds from
-- its first failure. A counter found without a TTL (set by hand) gets
-- one, so none outlives its window for ever.
-- Returns { 'counted', count... }: the new counts, in the order of KEYS.
local out = { 'counted' }
for i, k in ipairs(KEYS) do
  local n = redis.call('INCR', k)
  if n == 1 or redis.call('TTL', k) == -1 then
    redis.call('EXPIRE', k, ARGV[1])
  end
  out[i + 1] = n
end
return out
