-- Claim expired sessions: their handlers stopped refreshing them (killed,
-- host lost, or only starved: session.c asks whether each is alive before
-- ending it). KEYS[1] an expiry index (the one index, or on a cluster one
-- slot's shard of it). ARGV[1] now, ARGV[2] how many at most.
-- Each claimed entry is removed from the index here, so exactly one
-- living handler cleans up each dead session (see session_unregister).
-- The reaper's host is marked alive by a command of its own, beside this
-- script in one round trip (session.c): a host key is another slot.
-- Returns { 'claimed', member... }: the claimed members
-- "<stream id> <bare>/<resource>", oldest first (none: { 'claimed' }).
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, m in ipairs(due) do
  redis.call('ZREM', KEYS[1], m)
end
table.insert(due, 1, 'claimed')
return due
