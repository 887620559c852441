-- Count one failed authentication against an account and a source
-- address, each counter living ARGV[1] seconds from its first failure.
-- KEYS[1] the account's counter, KEYS[2] the address's counter.
-- Returns the larger of the two counts.
local a = redis.call('INCR', KEYS[1])
if a == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local b = redis.call('INCR', KEYS[2])
if b == 1 then redis.call('EXPIRE', KEYS[2], ARGV[1]) end
if a > b then return a end
return b
