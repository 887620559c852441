-- Archive a message the user sent, when no carbon copy is due with it
-- (route_stanza.lua's kind 'sent' does both; this is the same entry for
-- less work on every message). KEYS[1] the user's XEP-0441 preferences,
-- KEYS[2] its archive stream, KEYS[3] its roster (lib/mam.lua). ARGV[1]
-- the recipient's JID, ARGV[2] the message's envelope ("stanza
-- <accepted>\n" .. xml), ARGV[3] fresh random hex, ARGV[4] now, ARGV[5]
-- archive_max_count, ARGV[6] archive_max_age, ARGV[7] archive_default.
-- Returns { 'delivered', 0 }, archived or not (the preferences decide).
-- include: lib/mam.lua
local env = ARGV[2]
local xml = string.sub(env, (string.find(env, '\n', 1, true) or 0) + 1)
mam_add(KEYS[2], KEYS[1], KEYS[3], ARGV[1], xml, ARGV[3], tonumber(ARGV[4]),
  tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7])
return { 'delivered', 0 }
