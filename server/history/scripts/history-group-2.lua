--[[
history-group: makes sure the history consumer group reads a board's stream, starting
just after the persisted watermark. A board that predates history gets a watermark at its
current revision (its history starts there) instead of replaying what it had before.

KEYS[1] meta  KEYS[2] log
ARGV[1] consumer group name

Returns {watermark, epoch, epochRev, rev}, or {-4} when the board has no meta.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return {-4} end
local state = redis.call('HMGET', KEYS[1], 'pw', 'rev', 'epoch', 'epochRev')
local pw = state[1]
if not pw then
  pw = state[2] or '0'
  redis.call('HSET', KEYS[1], 'pw', pw)
end
local ok = pcall(redis.call, 'XGROUP', 'CREATE', KEYS[2], ARGV[1], pw .. '-0', 'MKSTREAM')
return {tonumber(pw), state[3] or '', tonumber(state[4] or '0'), tonumber(state[2] or '0')}
