-- Request ARGV[1] (its rid) of a BOSH session fed its stanzas to the
-- stream: the next request may go on (bosh_claim). Kept only if higher
-- than what is there (a late process of an older request changes
-- nothing).
-- KEYS[1] the session's hash. ARGV[1] rid.
-- Returns { 'fed' } or { 'none' } (no such session, or a higher rid fed).
local fed = redis.call('HGET', KEYS[1], 'fed')
if redis.call('EXISTS', KEYS[1]) == 0 or (fed and tonumber(fed) >= tonumber(ARGV[1])) then
  return { 'none' }
end
redis.call('HSET', KEYS[1], 'fed', ARGV[1])
return { 'fed' }
