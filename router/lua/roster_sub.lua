-- The subscription state machine of RFC 6121 3 for one user: the owner of
-- KEYS (roster hash, roster version, pending-in hash) and one contact.
-- ARGV[1] contact bare JID, ARGV[2] 'out' (the user sent it) or 'in' (the
-- contact sent it to the user), ARGV[3] presence type (subscribe,
-- subscribed, unsubscribe, unsubscribed), ARGV[4] the contact JID escaped
-- for an XML attribute, ARGV[5] the stanza (kept while a request is
-- pending).
-- Returns { action, item, version }. The outcome, action, is 'route'
-- (out: send the stanza to the contact), 'deliver' (in: give it to the
-- user's available resources), 'autoreply' (in: already subscribed,
-- answer 'subscribed' on the user's behalf) or 'drop'; item is the new
-- roster item when it changed (push it), else ''; version is the roster
-- version (raised only when the item changed).
local roster, verkey, pending = KEYS[1], KEYS[2], KEYS[3]
local c, dir, t, ejid, stanza = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local item = redis.call('HGET', roster, c)
local sub, ask = 'none', false
if item then
  sub = string.match(item, "^<item subscription='(%a+)'") or 'none'
  ask = string.find(item, "^<item subscription='%a+' ask='subscribe'") ~= nil
end
local nsub, nask, action = sub, ask, 'drop'
if dir == 'out' then
  if t == 'subscribe' then
    if sub == 'none' or sub == 'from' then nask = true end
    action = 'route'
  elseif t == 'subscribed' then
    -- only as an answer to a pending request: no pre-approval
    if redis.call('HDEL', pending, c) == 1 then
      if sub == 'none' then nsub = 'from' elseif sub == 'to' then nsub = 'both' end
      action = 'route'
    end
  elseif t == 'unsubscribe' then
    if sub == 'to' then nsub = 'none' elseif sub == 'both' then nsub = 'from' end
    nask = false
    action = 'route'
  elseif t == 'unsubscribed' then
    redis.call('HDEL', pending, c)
    if sub == 'from' then nsub = 'none' elseif sub == 'both' then nsub = 'to' end
    action = 'route'
  end
else
  if t == 'subscribe' then
    if sub == 'from' or sub == 'both' then
      action = 'autoreply'
    else
      redis.call('HSET', pending, c, stanza)
      action = 'deliver'
    end
  elseif t == 'subscribed' then
    if ask and (sub == 'none' or sub == 'from') then
      if sub == 'none' then nsub = 'to' else nsub = 'both' end
      nask = false
      action = 'deliver'
    end
  elseif t == 'unsubscribe' then
    local had = redis.call('HDEL', pending, c) == 1
    if sub == 'from' then nsub = 'none' elseif sub == 'both' then nsub = 'to' end
    if had or nsub ~= sub then action = 'deliver' end
  elseif t == 'unsubscribed' then
    if sub == 'to' or sub == 'both' or ask then
      if sub == 'to' then nsub = 'none' elseif sub == 'both' then nsub = 'from' end
      nask = false
      action = 'deliver'
    end
  end
end
if nsub == sub and nask == ask then
  return { action, '', redis.call('GET', verkey) or '0' }
end
local rest
if item then
  rest = string.gsub(item, "^<item subscription='%a+'", '', 1)
  rest = string.gsub(rest, "^ ask='subscribe'", '', 1)
else
  rest = " jid='" .. ejid .. "'/>"
end
local new = "<item subscription='" .. nsub .. "'"
if nask then new = new .. " ask='subscribe'" end
new = new .. rest
redis.call('HSET', roster, c, new)
return { action, new, tostring(redis.call('INCR', verkey)) }
