-- Bare JID ARGV[3] ('' the operator) configures room ARGV[2] with the
-- fields and values ARGV[5], ARGV[6], ... (XEP-0045 10.2, checked by the
-- handler; an empty form, none: the instant room of 10.1.2); ARGV[4]
-- fresh random hex. Keys and ARGV[1]: lib/muc.lua, KEYS[6] (the set of
-- rooms) included.
-- Only an owner may. The room is unlocked. The occupants of a room that
-- was unlocked already learn of it by one event (t config) with the
-- status codes of 10.2.1: 104, and 172 or 173 when who sees real JIDs
-- changed, 170 or 171 when logging did; wa is the whois now. A room
-- made members-only removes its occupants who are not members (322,
-- 9.7). A room no longer persistent and empty goes.
-- Returns { 'set', status codes } , { 'forbidden' } or { 'no-room' }.
-- include: lib/mam.lua
-- include: lib/muc.lua
local MUC_STATUS_MEMBERS_ONLY = '322'
if redis.call('EXISTS', KEYS[2]) == 0 then return { 'no-room' } end
if ARGV[3] ~= '' and muc_affiliation(ARGV[3]) ~= 'owner' then return { 'forbidden' } end
local was = muc_config()
local set = { 'HSET', KEYS[2], 'locked', '0' }
for i = 5, #ARGV, 2 do
  set[#set + 1] = ARGV[i]
  set[#set + 1] = ARGV[i + 1]
end
redis.call(unpack(set))
local now = muc_config()
local codes = { '104' }
if was.whois ~= now.whois then
  codes[#codes + 1] = now.whois == 'anyone' and '172' or '173'
end
if was.logging ~= now.logging then
  codes[#codes + 1] = now.logging == '1' and '170' or '171'
end
local c = table.concat(codes, ' ')
-- The first configuration of a new room: only its owner is there.
if was.locked ~= '1' then muc_event({ 't', 'config', 'c', c, 'wa', now.whois }, ARGV[4]) end
if now.members_only == '1' and was.members_only ~= '1' then
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    local o = cjson.decode(all[i + 1])
    if o.aff == 'none' then
      muc_remove(all[i], o, 'none', MUC_STATUS_MEMBERS_ONLY, '', '', ARGV[4])
    end
  end
end
if now.persistent ~= '1' and redis.call('HLEN', KEYS[1]) == 0 then muc_destroy() end
return { 'set', c }
