-- Create an account, only if it does not exist, in one step with what
-- allows it: the per-address count of in-band registrations and the
-- invitation it consumes. Atomic, so two registrations racing on one
-- token, one name or the last place of an address's limit cannot both
-- succeed.
-- KEYS[1] the account hash, KEYS[2] the users index,
-- KEYS[3] the address's registration counter (used when ARGV[6] > 0),
-- KEYS[4] the invitation hash (used when ARGV[8] is not ''),
-- KEYS[5] the JID's reservation: the token of an invitation made for
--         this very user (xmppctl invite --user).
-- ARGV[1] the bare JID, ARGV[2] the scram-sha-1 line, ARGV[3] the
-- scram-sha-256 line, ARGV[4] the digest secret ('' none), ARGV[5] now
-- (unix time), ARGV[6] registrations allowed per address ('0': not
-- counted), ARGV[7] the counter's window in seconds, ARGV[8] the token
-- ('' none), ARGV[9] the user's node, ARGV[10] its domain, ARGV[11] '1'
-- when another invitation's reservation stops the creation (in-band),
-- '0' for the operator.
-- Returns, checked in this order (nothing changed but by 'created'):
--   { 'limited', count }  the address's count reached ARGV[6]
--   { 'no-invite' }       no such invitation (used, expired, revoked),
--                         or one for another domain
--   { 'other-user' }      the invitation is for another user
--   { 'exists' }          the account exists, or is reserved for
--                         another invitation's holder
--   { 'created' }         written, indexed, counted; the invitation
--                         and its reservation are gone
local limit = tonumber(ARGV[6])
if limit > 0 then
	local n = tonumber(redis.call('GET', KEYS[3]) or '0')
	if n >= limit then return { 'limited', n } end
end
local token = ARGV[8]
if token ~= '' then
	local inv = redis.call('HMGET', KEYS[4], 'domain', 'node')
	if not inv[1] or inv[1] ~= ARGV[10] then return { 'no-invite' } end
	if inv[2] and inv[2] ~= '' and inv[2] ~= ARGV[9] then return { 'other-user' } end
end
if redis.call('EXISTS', KEYS[1]) == 1 then return { 'exists' } end
local reserved = redis.call('GET', KEYS[5])
if reserved and reserved ~= token and ARGV[11] == '1' then return { 'exists' } end
redis.call('HSET', KEYS[1], 'created', ARGV[5], 'scram-sha-1', ARGV[2],
	'scram-sha-256', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'digest-secret', ARGV[4]) end
redis.call('SADD', KEYS[2], ARGV[1])
if limit > 0 then
	if redis.call('INCR', KEYS[3]) == 1 or redis.call('TTL', KEYS[3]) == -1 then
		redis.call('EXPIRE', KEYS[3], ARGV[7])
	end
end
if token ~= '' then redis.call('DEL', KEYS[4]) end
if reserved == token or ARGV[11] == '0' then redis.call('DEL', KEYS[5]) end
return { 'created' }
