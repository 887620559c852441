-- Is the invitation KEYS[1] good for registering on domain ARGV[1]
-- (XEP-0445 preauth)? It is not consumed: account_create.lua does that
-- with the registration. A good one is kept for at least ARGV[2] more
-- seconds, the time the stream has left to register: XEP-0445 checks
-- expiry at this point only.
-- Returns { 'valid', node } (node '' : any user) or { 'none' } (no such
-- invitation, or one for another domain).
local inv = redis.call('HMGET', KEYS[1], 'domain', 'node')
if not inv[1] or inv[1] ~= ARGV[1] then return { 'none' } end
local ttl = redis.call('TTL', KEYS[1])
if ttl >= 0 and ttl < tonumber(ARGV[2]) then
	redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return { 'valid', inv[2] or '' }
