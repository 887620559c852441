-- Refresh the record of resource ARGV[1] if it still holds stream id ARGV[2]:
-- seen := ARGV[3]; when ARGV[5] ~= '-1', prio := ARGV[4], avail := ARGV[5].
-- KEYS[1] sessions hash.  Returns 1 if updated, 0 if the session is gone.
local rec = redis.call('HGET', KEYS[1], ARGV[1])
if not rec or string.match(rec, 'id=(%S+)') ~= ARGV[2] then
  return 0
end
rec = string.gsub(rec, 'seen=%S+', 'seen=' .. ARGV[3])
if ARGV[5] ~= '-1' then
  rec = string.gsub(rec, 'prio=%S+', 'prio=' .. ARGV[4])
  rec = string.gsub(rec, 'avail=%S+', 'avail=' .. ARGV[5])
end
redis.call('HSET', KEYS[1], ARGV[1], rec)
return 1
