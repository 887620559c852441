-- Retract (delete) one item of a PEP node (XEP-0060 7.2). Keys:
-- lib/pep.lua. ARGV: node, item id.
-- Returns { 'retracted', access_model, notify_retract ('1' or '0') },
-- { 'nonode' } or { 'noitem' } (nothing changed).
-- include: lib/pep.lua
local conf = pep_conf()
if not conf then
	return { 'nonode' }
end
if redis.call('HDEL', KEYS[3], ARGV[2]) == 0 then
	return { 'noitem' }
end
redis.call('ZREM', KEYS[4], ARGV[2])
return { 'retracted', conf.access_model, conf.notify_retract }
