-- lib/bcast.lua - a user's broadcast log, as router/route.h defines it:
-- what is published on the user's bare channel (presence broadcasts,
-- roster and blocklist pushes, PEP notifications) is also appended to
-- <prefix>{bare}:bcast while a reader keeps it (<prefix>{bare}:bcastfor,
-- a sorted set: reader -> until when), for sessions whose handler comes
-- and goes between two reads (BOSH: one process per request).

-- Publish payload on chan, and log it first if a reader still keeps the
-- log (entries ids '*', about max of them kept). Returns SPUBLISH's count.
local function bcast_publish(chan, readers, log, payload, now, max)
  if redis.call('EXISTS', readers) == 1 then
    redis.call('ZREMRANGEBYSCORE', readers, '-inf', now)
    local last = redis.call('ZRANGE', readers, -1, -1, 'WITHSCORES')
    if last[2] then
      redis.call('XADD', log, 'MAXLEN', '~', max, '*', 'e', payload)
      redis.call('EXPIREAT', log, last[2])
    end
  end
  return redis.call('SPUBLISH', chan, payload)
end
