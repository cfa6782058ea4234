--[[
presence-refresh: pushes back the deadline of `$presence/<agent>` while the connection that
owns it lives. An entry that was cleared, swept or taken over by another connection is left
alone.

KEYS[1] deadlines zset          KEYS[2] presence owners hash
ARGV[1] agent id                ARGV[2] owning connection id     ARGV[3] ttl (ms)

Returns the new deadline (ms), or 0 when the entry is no longer this connection's.
]]

local key = '$presence/' .. ARGV[1]
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
if not redis.call('ZSCORE', KEYS[1], key) then return 0 end
local clock = redis.call('TIME')
local expiresAt = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000) + tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], 'XX', expiresAt, key)
return expiresAt
