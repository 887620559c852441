-- Publish ARGV[1] on a user's bare channel, logged first if a reader
-- keeps the user's broadcast log (lib/bcast.lua).
-- KEYS[1] the bare channel, KEYS[2] the log's readers, KEYS[3] the log.
-- ARGV[2] now (Unix seconds), ARGV[3] about how many entries the log keeps.
-- Returns { 'published', count } (SPUBLISH's count of subscribers).
-- include: lib/bcast.lua
return { 'published', bcast_publish(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3]) }
