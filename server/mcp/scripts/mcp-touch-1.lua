-- Keeps an MCP session alive, if this node serves it.
-- KEYS[1] session hash
-- ARGV[1] node id  ARGV[2] idle TTL (ms)
-- Returns 1, or the serving node's id, or false when the session is gone.
local owner = redis.call('HGET', KEYS[1], 'owner')
if not owner then
  return false
end
if owner ~= ARGV[1] then
  return owner
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
