-- Create a PEP node, or change an existing node's configuration
-- (XEP-0060 8.1, 8.2). Keys: lib/pep.lua. ARGV: node, 'create' or
-- 'configure', max nodes per user, cap on items per node, then
-- { field, value } pairs of the configuration.
-- A change that lowers max_items, or turns persist_items off, removes
-- the items beyond the new limit at once.
-- Returns { 'created' } or { 'configured' }; { 'exists' } (create: the
-- node is there already), { 'full' } (create: the user has max nodes),
-- { 'nonode' } (configure: no such node); nothing changed then.
-- include: lib/pep.lua
local conf = pep_conf()
if ARGV[2] == 'create' then
	if conf then
		return { 'exists' }
	end
	if not pep_create(tonumber(ARGV[3]), 5) then
		return { 'full' }
	end
	return { 'created' }
end
if not conf then
	return { 'nonode' }
end
pep_set(5)
pep_trim(pep_conf(), tonumber(ARGV[4]))
return { 'configured' }
