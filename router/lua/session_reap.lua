-- Claim expired sessions: their handlers stopped refreshing them (killed,
-- host lost). KEYS[1] expiry index. ARGV[1] now, ARGV[2] how many at most.
-- Each claimed entry is removed from the index here, so exactly one
-- living handler cleans up each dead session (see session_unregister).
-- Returns { 'claimed', member... }: the claimed members
-- "<stream id> <bare>/<resource>", oldest first (none: { 'claimed' }).
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, m in ipairs(due) do
  redis.call('ZREM', KEYS[1], m)
end
table.insert(due, 1, 'claimed')
return due
