-- Register a device's push service (XEP-0357 5, router/push.h): KEYS[1]
-- the user's push hash; ARGV[1] the field "<app server JID>\n<node>",
-- ARGV[2] the publish-options form ('' none), ARGV[3] the most
-- registrations one user may have. A registration made again replaces
-- its form.
-- Returns { 'ok' } or { 'full' }.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and
    redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  return { 'full' }
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return { 'ok' }
