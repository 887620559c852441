-- Take every stored offline stanza of a user, oldest first, and empty the
-- store in the same step. KEYS[1] offline list.
local all = redis.call('LRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
return all
