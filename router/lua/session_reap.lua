-- Claim expired sessions: their handlers stopped refreshing them (killed,
-- host lost, or only starved: session.c asks whether each is alive before
-- ending it). KEYS[1] expiry index, KEYS[2] the reaping host's liveness
-- key. ARGV[1] now, ARGV[2] how many at most, ARGV[3] the session TTL.
-- The reaper's host is alive: KEYS[2] := now, expiring after the TTL, so
-- the sessions of a host where any handler still runs are not ended by
-- other hosts (session.c).
-- Each claimed entry is removed from the index here, so exactly one
-- living handler cleans up each dead session (see session_unregister).
-- Returns { 'claimed', member... }: the claimed members
-- "<stream id> <bare>/<resource>", oldest first (none: { 'claimed' }).
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[3])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, m in ipairs(due) do
  redis.call('ZREM', KEYS[1], m)
end
table.insert(due, 1, 'claimed')
return due
