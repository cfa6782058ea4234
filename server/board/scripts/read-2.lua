--[[
read: one key and the board's revision, atomically.

KEYS[1] meta  KEYS[2] kv
ARGV[1] key

Returns {rev, epoch or "", record or ""}.
]]
local state = redis.call('HMGET', KEYS[1], 'rev', 'epoch')
local record = redis.call('HGET', KEYS[2], ARGV[1])
return {tonumber(state[1]) or 0, state[2] or '', record or ''}
