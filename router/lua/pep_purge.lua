-- Remove every item of a PEP node, keeping the node (XEP-0060 8.5), or,
-- ARGV[2] 'delete', the node itself and its configuration (8.4). Keys:
-- lib/pep.lua. ARGV: node, 'purge' or 'delete'.
-- Returns { 'purged', access_model }, { 'deleted', access_model }, or
-- { 'nonode' }.
-- include: lib/pep.lua
local conf = pep_conf()
if not conf then
	return { 'nonode' }
end
redis.call('DEL', KEYS[3], KEYS[4])
if ARGV[2] == 'delete' then
	redis.call('DEL', KEYS[2])
	redis.call('SREM', KEYS[1], ARGV[1])
	return { 'deleted', conf.access_model }
end
return { 'purged', conf.access_model }
