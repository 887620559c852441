-- Publish one item to a PEP node (XEP-0163, XEP-0060 7.1), creating the
-- node on first publish. Keys: lib/pep.lua. ARGV: node, item id, item
-- XML, max nodes per user, cap on items per node, then { field, value }
-- pairs: publish-options (XEP-0060 7.1.5) that are preconditions on an
-- existing node and the configuration of a new one.
-- The item replaces one with the same id and becomes the newest; the
-- oldest beyond max_items are removed; with persist_items 0 nothing is
-- kept (notifications only).
-- Returns { 'published', access_model, 'new' | 'old' }, or
-- { 'conflict', field, current value } (a precondition is not met:
-- nothing changed), or { 'full' } (a new node beyond the user's max).
-- include: lib/pep.lua
local conf, made = pep_conf(), 'old'
if conf then
	for i = 6, #ARGV - 1, 2 do
		if conf[ARGV[i]] ~= ARGV[i + 1] then
			return { 'conflict', ARGV[i], conf[ARGV[i]] or '' }
		end
	end
else
	if not pep_create(tonumber(ARGV[4]), 6) then
		return { 'full' }
	end
	conf, made = pep_conf(), 'new'
end
if conf.persist_items == '1' then
	local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
	redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
	redis.call('ZADD', KEYS[4], seq, ARGV[2])
end
pep_trim(conf, tonumber(ARGV[5]))
return { 'published', conf.access_model, made }
