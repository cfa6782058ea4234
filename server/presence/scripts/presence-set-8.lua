--[[
presence-set: writes `$presence/<agent>` and gives it a deadline, which the connection's node
keeps pushing back while the connection lives.

KEYS[1..8] see deadline-lib.lua
ARGV[1..3] see deadline-lib.lua     ARGV[4] agent id     ARGV[5] agent as JSON
ARGV[6] the value JSON {agent, meta, since, node}    ARGV[7] ttl (ms)
ARGV[8] id of the connection that owns the entry

Returns {1, rev, expiresAt}; {-4} the board has no meta.
]]

local agent = ARGV[4]
if redis.call('EXISTS', META) == 0 then return done(-4) end

local now = now_ms()
sweep_due(now, 100)

local key = PRESENCE_PREFIX .. agent
local reply = write(ARGV[5], {{'put', key, ARGV[6]}}, 'put')
local expiresAt = now + tonumber(ARGV[7])
redis.call('HSET', OWNERS, agent, ARGV[8])
redis.call('ZADD', DEADLINES, expiresAt, key)
return done(1, reply[2], expiresAt)
