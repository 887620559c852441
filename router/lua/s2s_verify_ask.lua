-- Ask a remote domain's server to verify a dialback key (router/s2s.h):
-- the request waits for whoever connects out to that domain, which is
-- woken. (The caller drops any earlier answer under the same id first:
-- the answer list is in another slot.)
-- KEYS[1] the domain's verification list, KEYS[2] the shard of the set
-- of domains with work beside it (the route's slot: router/s2s.c).
-- ARGV[1] the entry ("<ask-id> <from> <to> <stream-id> <key>"), ARGV[2]
-- the domain, ARGV[3] the wake channel.
-- Returns { 'asked' }.
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[2])
return { 'asked' }
