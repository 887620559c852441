-- The relay of a room's occupants on other domains records what it sent
-- one of them (router/mucremote.h): occupant ARGV[2] (a full JID; ''
-- none) gets value ARGV[4] ('' : removed) if its entry is still ARGV[3],
-- what the relay read, so that a join meanwhile is never undone. Then a
-- room without such occupants leaves the set of rooms to relay.
-- KEYS[1] the room's {room}:remote hash, KEYS[2] the shard of that set
-- beside the room's keys (store.h's store_shard_key); ARGV[1] the room.
-- Returns { 'idle' } (unmarked) or { 'busy' }.
if ARGV[2] ~= '' and redis.call('HGET', KEYS[1], ARGV[2]) == ARGV[3] then
  if ARGV[4] == '' then
    redis.call('HDEL', KEYS[1], ARGV[2])
  else
    redis.call('HSET', KEYS[1], ARGV[2], ARGV[4])
  end
end
if redis.call('HLEN', KEYS[1]) > 0 then
  return { 'busy' }
end
redis.call('SREM', KEYS[2], ARGV[1])
return { 'idle' }
