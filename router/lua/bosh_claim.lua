-- Claim request ARGV[1] (its rid) of a BOSH session (xmpp-web(8) BOSH):
-- the rid after the highest claimed is the next request once its
-- predecessor's stanzas were fed to the stream ('fed', bosh_fed; or
-- ARGV[3] is '1': the caller waited long enough for a predecessor that
-- may have died). XEP-0124 14: requests are handled in rid order, so one
-- that overtook its predecessor, up to 'requests' above, is told to wait
-- for it. One at most 'requests' below is a repeated request, answered
-- with the answer kept for it (or, none kept yet, one still being
-- answered: the client lost that connection, and this one takes its
-- place).
-- Claiming proves the answers up to rid - requests read: the count at
-- the end of the last of them becomes 'acked', and they are forgotten.
-- Every claim ('claimed' or 'held') counts one more in 'cl', returned:
-- a request keeps its answer only if no other claimed the session after
-- it (bosh_record.lua).
-- KEYS[1] the session's hash. ARGV[1] rid, ARGV[2] the hash's lifetime,
-- ARGV[3] '1' to claim without the predecessor fed.
-- Returns { 'claimed', state, jid, res, smid, acked, sent, to, authid,
-- wait, inactivity, requests, sasl, pe, af, cl }, { 'replay', answer },
-- { 'held', state ... as claimed },
-- { 'early' }, { 'bad', state ... as claimed } (outside the window, or
-- still ahead of its predecessor when told to claim anyway: the session
-- is to end), or { 'none' } (no such session).
local f = redis.call('HMGET', KEYS[1], 'rid', 'requests', 'state', 'jid', 'res', 'smid',
  'acked', 'sent', 'to', 'authid', 'wait', 'inactivity', 'fed', 'sasl', 'pe', 'af', 'cl')
if not f[1] then
  return { 'none' }
end
local rid, last, req = tonumber(ARGV[1]), tonumber(f[1]), tonumber(f[2])
local function with_state(outcome, acked)
  return { outcome, f[3] or '', f[4] or '', f[5] or '', f[6] or '', acked, f[8] or acked,
    f[9] or '', f[10] or '', f[11] or '0', f[12] or '0', f[2], f[14] or '', f[15] or '0',
    f[16] or '0', f[17] or '0' }
end
local function claimed(outcome, acked)
  f[17] = tostring(redis.call('HINCRBY', KEYS[1], 'cl', 1))
  return with_state(outcome, acked)
end
if rid <= last then
  if rid <= last - req then
    return with_state('bad', f[7] or '0')
  end
  local a = redis.call('HGET', KEYS[1], 'a:' .. ARGV[1])
  if a then
    return { 'replay', a }
  end
  -- its first copy may still be feeding its stanzas: wait for that
  if ARGV[3] ~= '1' and tonumber(f[13] or last) < rid then
    return { 'early' }
  end
  return claimed('held', f[7] or '0')
end
if rid > last + req or (rid > last + 1 and ARGV[3] == '1') then
  return with_state('bad', f[7] or '0')
end
if rid > last + 1 or (ARGV[3] ~= '1' and tonumber(f[13] or last) < last) then
  return { 'early' }
end
local acked = f[7] or '0'
for r = last - req + 1, rid - req do
  if r > 0 then
    local n = redis.call('HGET', KEYS[1], 'n:' .. r)
    if n then
      acked = n
    end
    redis.call('HDEL', KEYS[1], 'a:' .. r, 'n:' .. r)
  end
end
redis.call('HSET', KEYS[1], 'rid', ARGV[1], 'acked', acked)
redis.call('EXPIRE', KEYS[1], ARGV[2])
return claimed('claimed', acked)
