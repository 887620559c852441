-- The count of accounts created in-band from one address in its window
-- (account.h): a place is taken before the account is created, and
-- given back if it is not, so that registrations racing from one
-- address never pass its limit. The counter has a key of its own (a
-- hash slot apart from the account's on a cluster): account_create.lua
-- cannot count in the same step.
-- KEYS[1] the address's counter. ARGV[1] 'take' or 'give'; to take,
-- ARGV[2] the accounts allowed per window, ARGV[3] the window in
-- seconds (from the first account; a counter found without a TTL gets
-- one).
-- Returns:
--   { 'limited', n }   take: the count n has reached ARGV[2]: unchanged
--   { 'counted', n }   take: one more, n
--   { 'given' }        give: one less, if any (at none the key goes)
if ARGV[1] == 'give' then
	local n = tonumber(redis.call('GET', KEYS[1]) or '0')
	if n == 1 then
		redis.call('DEL', KEYS[1])
	elseif n > 1 then
		redis.call('DECR', KEYS[1])
	end
	return { 'given' }
end
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[2]) then return { 'limited', n } end
n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('TTL', KEYS[1]) == -1 then
	redis.call('EXPIRE', KEYS[1], ARGV[3])
end
return { 'counted', n }
