-- Take the invitation KEYS[1] to register ARGV[2]@ARGV[1] with it
-- (invite.h): checked and deleted in one step, so that of two
-- registrations racing on one token only one has it. The account is
-- created next, in another hash slot; if it cannot be (the name is
-- taken), the caller puts the invitation back from what this returns
-- (invite_give_back). The name's reservation is not touched here.
-- ARGV[1] the domain registered on, ARGV[2] the node registered.
-- Returns, checked in this order (nothing changed but by 'taken'):
--   { 'no-invite' }    no such invitation (used, expired, revoked), or
--                      one for another domain
--   { 'other-user' }   the invitation is for another user
--   { 'taken', node, created, pttl }  deleted: its node ('' any user),
--                      its 'created' field, and the milliseconds it had
--                      left (-1: no expiry)
local inv = redis.call('HMGET', KEYS[1], 'domain', 'node', 'created')
if not inv[1] or inv[1] ~= ARGV[1] then return { 'no-invite' } end
if inv[2] and inv[2] ~= '' and inv[2] ~= ARGV[2] then return { 'other-user' } end
local pttl = redis.call('PTTL', KEYS[1])
redis.call('DEL', KEYS[1])
return { 'taken', inv[2] or '', inv[3] or '', pttl }
