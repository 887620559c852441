-- Ask a remote domain's server to verify a dialback key (router/s2s.h):
-- the request waits for whoever connects out to that domain, which is
-- woken. Any earlier answer under the same id is dropped.
-- KEYS[1] the domain's verification list, KEYS[2] the set of domains
-- with work, KEYS[3] the answer list of this id.
-- ARGV[1] the entry ("<ask-id> <from> <to> <stream-id> <key>"), ARGV[2]
-- the domain, ARGV[3] the wake channel.
-- Returns { 'asked' }.
redis.call('DEL', KEYS[3])
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[2])
return { 'asked' }
