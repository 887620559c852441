-- Store one namespace's XEP-0049 private XML (ARGV[1] -> ARGV[2]) in the
-- user's private hash (KEYS[1]), unless that would make the hash hold more
-- than ARGV[3] namespaces: replacing a namespace already there is always
-- allowed. Atomic, so sessions storing at once cannot pass the cap.
-- Returns { 'stored' } or { 'full' } (nothing changed).
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and
    redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
	return { 'full' }
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return { 'stored' }
