-- Take or renew the lease of the one outbound connection to a remote
-- domain, or of a component's connection (router/s2s.h).
-- KEYS[1] the lease. ARGV[1] "<host> <pid>" of the caller, ARGV[2] its
-- lifetime in seconds, ARGV[3] the value of a vacant lease (held by
-- nobody: free to take).
-- Returns { 'ours' } (taken or renewed) or { 'other', holder }.
local v = redis.call('GET', KEYS[1])
if v and v ~= ARGV[1] and v ~= ARGV[3] then
  return { 'other', v }
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return { 'ours' }
