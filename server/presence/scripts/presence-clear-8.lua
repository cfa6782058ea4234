--[[
presence-clear: deletes `$presence/<agent>`, when the given connection still owns it (or for
any owner when none is given: the agent's own presence.clear).

KEYS[1..8] see deadline-lib.lua
ARGV[1..3] see deadline-lib.lua     ARGV[4] agent id     ARGV[5] agent as JSON
ARGV[6] owning connection id, or "" for any

Returns {1, rev} deleted; {0} nothing to delete; {-4} the board has no meta.
]]

local agent = ARGV[4]
if ARGV[6] ~= '' and redis.call('HGET', OWNERS, agent) ~= ARGV[6] then return done(0) end
if redis.call('EXISTS', META) == 0 then return done(-4) end

local key = PRESENCE_PREFIX .. agent
redis.call('HDEL', OWNERS, agent)
redis.call('ZREM', DEADLINES, key)
if redis.call('HEXISTS', KV, key) == 0 then return done(0) end
local reply = write(ARGV[5], {{'delete', key}}, 'delete')
return done(1, reply[2])
