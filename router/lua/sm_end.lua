-- End the stream management state of a session whose stream is over (or
-- that was replaced or reaped): its unacknowledged messages and IQs go
-- back to the front of the resource's inbox, in order, where whoever
-- empties the inbox routes them again (what the handler made itself is
-- dropped: presence is state, answers are for a client that is gone).
-- Its handled count stays a while for <failed h=.../> (XEP-0198 5).
-- KEYS[1] sm hash, KEYS[2] smq list, KEYS[3] smids hash, KEYS[4] inbox.
-- ARGV[1] the owner's stream id ('' whoever owns it), ARGV[2] the key of
-- the handled count without the id ("<prefix>{bare}:smgone:"), ARGV[3]
-- its lifetime in seconds.
-- Returns { 'ended', moved }, { 'none' } (no state), or { 'taken' }
-- (another handler owns it: nothing changed).
local st = redis.call('HMGET', KEYS[1], 'id', 'owner', 'hin')
if not st[1] then
  return { 'none' }
end
if ARGV[1] ~= '' and st[2] ~= ARGV[1] then
  return { 'taken' }
end
local q = redis.call('LRANGE', KEYS[2], 0, -1)
local moved = 0
for i = #q, 1, -1 do
  local head = string.sub(q[i], 1, 7)
  if head == 'stanza ' or head == 'stanza\n' then
    redis.call('LPUSH', KEYS[4], q[i])
    moved = moved + 1
  end
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HDEL', KEYS[3], st[1])
redis.call('SET', ARGV[2] .. st[1], st[3] or '0', 'EX', ARGV[3])
return { 'ended', moved }
