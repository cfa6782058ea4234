--[[
create-board: gives a board its meta (revision counter and epoch) unless it has one.

KEYS[1] meta
ARGV[1] epoch for a new board  ARGV[2] revision to start from
ARGV[3] "1" when history is kept (the persisted watermark starts at ARGV[2])

Returns {created (0|1), epoch, rev}.
]]
if redis.call('EXISTS', KEYS[1]) == 1 then
  local state = redis.call('HMGET', KEYS[1], 'epoch', 'rev')
  return {0, state[1], tonumber(state[2])}
end
redis.call('HSET', KEYS[1], 'rev', ARGV[2], 'epoch', ARGV[1], 'epochRev', ARGV[2])
if ARGV[3] == '1' then redis.call('HSET', KEYS[1], 'pw', ARGV[2]) end
return {1, ARGV[1], tonumber(ARGV[2])}
