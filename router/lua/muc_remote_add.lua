-- Occupant ARGV[2] (a full JID of another domain) of room ARGV[1] is read
-- from value ARGV[3] on (router/mucremote.h): its entry in the room's
-- {room}:remote hash is set, the room is marked in the set of rooms to
-- relay, and the dispatchers are woken with ARGV[5] on channel ARGV[4].
-- In one step, so that a relay finding the room without such occupants
-- (muc_remote_sync.lua) never unmarks it after the entry is made, and
-- the relay the wake-up starts finds the entry.
-- KEYS[1] the room's {room}:remote hash, KEYS[2] the shard of the set of
-- rooms to relay beside the room's keys (store.h's store_shard_key).
-- Returns { 'added' }.
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return { 'added' }
