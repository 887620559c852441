#!lua flags=no-writes
-- Read a PEP node's items for a requester (XEP-0060 6.5, XEP-0163 4),
-- checking the node's access model. Keys: lib/pep.lua, then KEYS[5]
-- <prefix>{bare}:roster (the owner's roster), KEYS[6] (optional) the
-- owner's XEP-0191 blocklist: a requester blocked by its bare JID or its
-- domain is answered { 'blocked' }, whatever the model. ARGV: node, requester's
-- bare JID ('' for the owner, who may always read), max items (0: all),
-- then item ids (none: the newest max, or all).
-- open: anyone; presence and roster: the owner's contacts with
-- subscription from or both; whitelist: the owner only.
-- Returns { 'items', access_model, item XML... } (oldest first; asked
-- ids that are not there are left out), { 'denied', access_model } or
-- { 'nonode' }.
-- include: lib/pep.lua
if ARGV[2] ~= '' and KEYS[6] and (redis.call('SISMEMBER', KEYS[6], ARGV[2]) == 1 or
    redis.call('SISMEMBER', KEYS[6], string.match(ARGV[2], '@(.*)$') or ARGV[2]) == 1) then
	return { 'blocked' }
end
local conf = pep_conf()
if not conf then
	return { 'nonode' }
end
local model = conf.access_model
if ARGV[2] ~= '' and model ~= 'open' then
	if model == 'whitelist' then
		return { 'denied', model }
	end
	local item = redis.call('HGET', KEYS[5], ARGV[2])
	local sub = item and string.match(item, "^<item subscription='(%a+)'")
	if sub ~= 'from' and sub ~= 'both' then
		return { 'denied', model }
	end
end
local out = { 'items', model }
if #ARGV > 3 then
	for i = 4, #ARGV do
		local x = redis.call('HGET', KEYS[3], ARGV[i])
		if x then
			out[#out + 1] = x
		end
	end
	return out
end
local max = tonumber(ARGV[3])
local ids = redis.call('ZRANGE', KEYS[4], max > 0 and -max or 0, -1)
for _, id in ipairs(ids) do
	local x = redis.call('HGET', KEYS[3], id)
	if x then
		out[#out + 1] = x
	end
end
return out
