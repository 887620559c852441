-- Read one user's XEP-0313 archive (lib/mam.lua), after trimming it to the
-- retention policy (so no reader sees what has expired).
-- KEYS[1] the archive stream, KEYS[2] (only with a 'with' filter) the
-- index stream of that bare JID.
-- ARGV[1] mode, ARGV[2] now, ARGV[3] archive_max_count, ARGV[4]
-- archive_max_age, then by mode (lib/mam.lua's mam_answer): 'page',
-- whose filter ARGV[5] is a full JID the index's f must equal ('' any);
-- 'ids'; 'meta'.
-- Returns { 'ok', complete (0/1), count, id, m, id, m, ... }, or
-- { 'notfound' } when an archive id given is not in the archive.
-- include: lib/mam.lua
local full, keep = ARGV[5], nil
if ARGV[1] == 'page' and full ~= '' then
  keep = function(e) return mam_field(e, 'f') == full end
end
return mam_answer(KEYS[1], KEYS[2], ARGV, keep)
