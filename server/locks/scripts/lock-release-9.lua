--[[
lock-release: lets go of a lock in one step: retires the holder's fencing record, deletes
`$locks/<name>`, and deletes the Redlock resource if it still holds this hold's value (the
compare-and-delete of Redlock's own release). One script, so no write can pass the fence
once anyone else can take the resource.
A lapsed record with this token is cleaned up the same way, but the holder is told FENCED:
its lock ended before it let go.

KEYS[1..8] see deadline-lib.lua     KEYS[9] the Redlock resource key
ARGV[1..3] see deadline-lib.lua     ARGV[4] lock name    ARGV[5] releaser as JSON   ARGV[6] token
ARGV[7] Redlock's value for this hold

Returns {1} released; {-2} not the current holder's token (or lapsed); {-4} no meta.
]]

local name, resource = ARGV[4], KEYS[9]
if redis.call('GET', resource) == ARGV[7] then redis.call('DEL', resource) end

local record = redis.call('HGET', LOCKS, name)
if not record then return done(-2) end
local token, expiresAt = string.match(record, '^(%d+):(%d+):')
if token ~= ARGV[6] then return done(-2) end
if redis.call('EXISTS', META) == 0 then return done(-4) end

local lapsed = tonumber(expiresAt) <= now_ms()
local key = LOCK_PREFIX .. name
redis.call('HDEL', LOCKS, name)
redis.call('ZREM', DEADLINES, key)
if redis.call('HEXISTS', KV, key) == 1 then
  write(lapsed and ARGV[3] or ARGV[5], {{'delete', key}}, 'delete')
end
if lapsed then return done(-2) end
return done(1)
