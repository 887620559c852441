-- The server's secret (KEYS[1]), from which handlers derive the made-up
-- SCRAM credentials of users that do not exist: the stored value, or,
-- the first time, ARGV[1] (fresh random hex from the caller), stored
-- for good. Atomic, so handlers racing at the first use agree on one.
-- Returns { 'found', secret } (it was there) or { 'stored', secret }
-- (ARGV[1], stored now). The caller checks that it is 64 hex digits.
local v = redis.call('GET', KEYS[1])
if v then return { 'found', v } end
redis.call('SET', KEYS[1], ARGV[1])
return { 'stored', ARGV[1] }
