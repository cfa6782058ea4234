--[[
lock-extend: after Redlock has extended the resource, moves the fencing record's expiry to the
resource's and rewrites `$locks/<name>`. Only the current holder's token, unexpired, with the
resource still holding Redlock's value for its hold, may extend.

KEYS[1..8] see lock-lib.lua     KEYS[9] the Redlock resource key
ARGV[1..3] see lock-lib.lua     ARGV[4] lock name    ARGV[5] holder agent id
ARGV[6] holder as JSON          ARGV[7] Redlock's value for this hold   ARGV[8] token

Returns {1, expiresAt}; {-2} not the current holder's token, or lapsed; {-4} no meta.
]]

local resource, name, holder, holderJson, holdValue = KEYS[9], ARGV[4], ARGV[5], ARGV[6], ARGV[7]

local record = redis.call('HGET', LOCKS, name)
if not record then return done(-2) end
local token, expiresAt = string.match(record, '^(%d+):(%d+):')
local now = now_ms()
if token ~= ARGV[8] or tonumber(expiresAt) <= now then return done(-2) end
if redis.call('GET', resource) ~= holdValue then return done(-2) end
local ttl = redis.call('PTTL', resource)
if ttl <= 0 then return done(-2) end
if redis.call('EXISTS', META) == 0 then return done(-4) end

local key = LOCK_PREFIX .. name
local nextExpiresAt = now + ttl
local value = '{"holder":' .. holderJson .. ',"token":' .. token .. ',"expiresAt":' .. nextExpiresAt .. '}'
write(holderJson, {{'put', key, value}}, 'put')
redis.call('HSET', LOCKS, name, token .. ':' .. nextExpiresAt .. ':' .. holder)
redis.call('ZADD', DEADLINES, nextExpiresAt, key)
return done(1, nextExpiresAt)
