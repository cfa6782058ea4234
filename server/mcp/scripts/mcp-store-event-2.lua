-- Stores one event of an MCP session's notification stream, if this node serves the
-- session: only the serving node may feed it.
-- KEYS[1] session hash   KEYS[2] the notification stream's events
-- ARGV[1] node id  ARGV[2] message JSON  ARGV[3] max events kept  ARGV[4] events TTL (ms)
-- ARGV[5] board of a resource notification ('' if none)  ARGV[6] its revision
-- Returns the event's stream id, or false when the session moved to another node or is gone.
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then
  return false
end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'm', ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
if ARGV[5] ~= '' then
  -- The cursor a resumed session continues from: the last revision notified on that board.
  local field = 'c:' .. ARGV[5]
  local current = tonumber(redis.call('HGET', KEYS[1], field) or '-1')
  if tonumber(ARGV[6]) > current then
    redis.call('HSET', KEYS[1], field, ARGV[6])
  end
end
return id
