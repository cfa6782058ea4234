-- Stores one event of an MCP session's SSE stream.
-- KEYS[1] session hash   KEYS[2] the stream's event stream
-- ARGV[1] node id  ARGV[2] message JSON  ARGV[3] max events kept  ARGV[4] events TTL (ms)
-- ARGV[5] board of a resource notification ('' if none)  ARGV[6] its revision
-- ARGV[7] '1': only if this node serves the session (the notification stream, which only
-- the serving node may feed); '0': a reply on a request's own stream
-- Returns the event's stream id, or false when the session moved to another node or is gone.
if ARGV[7] == '1' and redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then
  return false
end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'm', ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
if ARGV[5] ~= '' and ARGV[7] == '1' then
  -- The cursor a resumed session continues from: the last revision notified on that board.
  local field = 'c:' .. ARGV[5]
  local current = tonumber(redis.call('HGET', KEYS[1], field) or '-1')
  if tonumber(ARGV[6]) > current then
    redis.call('HSET', KEYS[1], field, ARGV[6])
  end
end
return id
