-- Create an account, only if it does not exist, and index it: the
-- name's check and the creation in one step, so two creations racing
-- on one name cannot both succeed. Every key is the user's (one hash
-- slot): what allows an in-band creation, the address's count and the
-- invitation, was taken before this runs (registration_count.lua,
-- invite_take.lua) and is given back if this answers 'exists'
-- (account.c, account_create).
-- KEYS[1] the account hash, KEYS[2] the users index (the shard of the
-- user's slot on a cluster, store.h), KEYS[3] the JID's reservation:
-- the token of an invitation made for this very user (xmppctl invite
-- --user).
-- ARGV[1] the bare JID, ARGV[2] the scram-sha-1 line, ARGV[3] the
-- scram-sha-256 line, ARGV[4] the digest secret ('' none), ARGV[5] now
-- (unix time), ARGV[6] the token taken for it ('' none), ARGV[7] '1'
-- when another invitation's reservation stops the creation (in-band),
-- '0' for the operator.
-- Returns (nothing changed but by 'created'):
--   { 'exists' }          the account exists, or is reserved for
--                         another invitation's holder
--   { 'created' }         written and indexed; the reservation held by
--                         its token (any, for the operator) is gone
if redis.call('EXISTS', KEYS[1]) == 1 then return { 'exists' } end
local reserved = redis.call('GET', KEYS[3])
if reserved and reserved ~= ARGV[6] and ARGV[7] == '1' then return { 'exists' } end
redis.call('HSET', KEYS[1], 'created', ARGV[5], 'scram-sha-1', ARGV[2],
	'scram-sha-256', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'digest-secret', ARGV[4]) end
redis.call('SADD', KEYS[2], ARGV[1])
if reserved then redis.call('DEL', KEYS[3]) end
return { 'created' }
