--[[
lock-extend: pushes the lock's expiry to ttl from now, in one step: Redlock's value-checked
extend of the resource key, and the fencing record and `$locks/<name>` rewritten to match.
Only the current holder's token, unexpired, with the resource still holding this hold's value,
may extend. A fence that lapsed while the resource is still this hold's lets the resource go.
The deadline only moves later, so the board's entry in the global index still covers it.

KEYS[1..8] see deadline-lib.lua     KEYS[9] the resource key
ARGV[1..3] see deadline-lib.lua     ARGV[4] lock name    ARGV[5] holder agent id
ARGV[6] holder as JSON          ARGV[7] this hold's value on the resource   ARGV[8] token
ARGV[9] ttl (ms)

Returns {1, expiresAt}; {-2} not the current holder's token, or lapsed; {-4} no meta.
]]

local resource, name, holder, holderJson, holdValue = KEYS[9], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local ttl = tonumber(ARGV[9])

local ours = redis.call('GET', resource) == holdValue and redis.call('PTTL', resource) > 0
local record = redis.call('HGET', LOCKS, name)
local token, expiresAt
if record then token, expiresAt = string.match(record, '^(%d+):(%d+):') end
local now = now_ms()
if not ours or token ~= ARGV[8] or tonumber(expiresAt) <= now then
  if ours then redis.call('DEL', resource) end
  return done(-2)
end
if redis.call('EXISTS', META) == 0 then return done(-4) end

redis.call('PEXPIRE', resource, ttl)
local key = LOCK_PREFIX .. name
local nextExpiresAt = now + ttl
local value = '{"holder":' .. holderJson .. ',"token":' .. token .. ',"expiresAt":' .. nextExpiresAt .. '}'
write(holderJson, {{'put', key, value}}, 'put')
redis.call('HSET', LOCKS, name, token .. ':' .. nextExpiresAt .. ':' .. holder)
redis.call('ZADD', DEADLINES, nextExpiresAt, key)
return done(1, nextExpiresAt)
