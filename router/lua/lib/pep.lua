-- XEP-0163 PEP nodes of one user (router/pep.h, xmpp-redis(7)); every
-- pep_*.lua script takes the same keys:
--   KEYS[1] <prefix>{bare}:pep             set of the user's node names
--   KEYS[2] <prefix>{bare}:pep:conf:<node> hash: the node's configuration
--                                          (PEP_FIELDS) and 'seq', the
--                                          last item's order number
--   KEYS[3] <prefix>{bare}:pep:items:<node> hash: item id -> item XML
--   KEYS[4] <prefix>{bare}:pep:order:<node> sorted set: item ids by 'seq',
--                                          newest last
-- and ARGV[1], the node name.

-- The configuration fields, in the order HGET answers them, and the
-- value each node starts with (XEP-0060 16.4 names, without "pubsub#").
local PEP_FIELDS = { 'access_model', 'persist_items', 'max_items', 'notify_retract',
	'send_last_published_item' }
local PEP_DEFAULTS = { access_model = 'presence', persist_items = '1', max_items = '1',
	notify_retract = '1', send_last_published_item = 'on_sub_and_presence' }

-- The node's configuration as a table, or nil when there is no node.
local function pep_conf()
	if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then
		return nil
	end
	local v = redis.call('HMGET', KEYS[2], unpack(PEP_FIELDS))
	local t = {}
	for i, f in ipairs(PEP_FIELDS) do
		t[f] = v[i] or PEP_DEFAULTS[f]
	end
	return t
end

-- Set fields from a flat list { field, value, ... } starting at ARGV[from].
local function pep_set(from)
	for i = from, #ARGV - 1, 2 do
		redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
	end
end

-- A new node, with the defaults and then the fields from ARGV[from] on,
-- unless the user has max_nodes nodes already: true if created.
local function pep_create(max_nodes, from)
	if redis.call('SCARD', KEYS[1]) >= max_nodes then
		return false
	end
	redis.call('SADD', KEYS[1], ARGV[1])
	for _, f in ipairs(PEP_FIELDS) do
		redis.call('HSET', KEYS[2], f, PEP_DEFAULTS[f])
	end
	pep_set(from)
	return true
end

-- Keep the newest items the configuration allows: none when items are
-- not persisted, max_items ('max': cap) otherwise, never more than cap.
local function pep_trim(conf, cap)
	local keep = tonumber(conf.max_items) or cap
	if keep > cap then
		keep = cap
	end
	if conf.persist_items ~= '1' then
		keep = 0
	end
	local over = redis.call('ZCARD', KEYS[4]) - keep
	if over > 0 then
		local old = redis.call('ZRANGE', KEYS[4], 0, over - 1)
		redis.call('HDEL', KEYS[3], unpack(old))
		redis.call('ZREMRANGEBYRANK', KEYS[4], 0, over - 1)
	end
end
