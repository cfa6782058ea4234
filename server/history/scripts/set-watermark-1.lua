--[[
set-watermark: mirrors the Postgres watermark into the board meta (field pw), never lowering it.

KEYS[1] meta
ARGV[1] the epoch the watermark belongs to   ARGV[2] persisted up to this revision

Returns {1} when meta holds the value now, {0} when the board is missing or lives in another epoch.
A missing meta is not created: a hash with only pw would look like a board with no revisions.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return {0} end
local current = tonumber(redis.call('HGET', KEYS[1], 'pw') or '-1')
if current < tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], 'pw', ARGV[2]) end
return {1}
