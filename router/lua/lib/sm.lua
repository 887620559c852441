-- lib/sm.lua - the stream management (XEP-0198) state of one session, as
-- router/sm.h defines it, for the scripts that keep it. Needs
-- lib/record.lua (include it first).
--
-- <prefix>{bare}:sm:<resource>  hash: id (the XEP-0198 id), owner (stream
--   id of the handler serving it), resume (1: resumable), hin (client
--   stanzas handled), acked (server stanzas the client acknowledged);
--   counts modulo 2^32; bpos (the user's broadcast log read up to this
--   entry, for sessions that read it: router/route.h).
-- <prefix>{bare}:smq:<resource> list: what was written to the client and
--   not acknowledged, oldest first: inbox envelopes ("stanza ...\n<xml>")
--   or "raw\n<xml>" for what the handler made itself.
-- <prefix>{bare}:smids          hash: XEP-0198 id -> resource (resumable
--   sessions only).
-- <prefix>{bare}:smgone:<id>    string: hin of an ended session, for
--   <failed h=.../> (expires).

-- Detach session res of bare, whose record rec holds stream id: no handler
-- listens any more; it is resumable, and live, until deadline, when the
-- reaper ends it (the expiry index says when).
local function sm_detach_record(sessions, expiry, bare, res, rec, id, deadline)
  rec = record_set(rec, 'pid', '0')
  rec = record_set(rec, 'det', deadline)
  redis.call('HSET', sessions, res, rec)
  redis.call('ZADD', expiry, deadline, expiry_member(id, bare, res))
end
