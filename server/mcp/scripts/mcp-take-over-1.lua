-- Makes this node the one serving an MCP session (it reached this node), if the agent is its own.
-- KEYS[1] session hash
-- ARGV[1] node id  ARGV[2] idle TTL (ms)  ARGV[3] the requesting agent's id ('': any, when
-- authentication is off and the request named no agent)
-- Returns the session's fields (HGETALL, after the change), or false when the session is
-- gone or belongs to another agent. From now on the previous node's writes are refused.
local agent = redis.call('HGET', KEYS[1], 'agent')
if not agent or (ARGV[3] ~= '' and agent ~= ARGV[3]) then
  return false
end
redis.call('HSET', KEYS[1], 'owner', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('HGETALL', KEYS[1])
