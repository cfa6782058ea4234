--[[
lock-number: gives the hold Redlock has just taken on the resource key its fencing token.
Taking the resource (SET NX PX) and numbering it are two steps, so this one first checks that
the resource still holds Redlock's value for this hold: a hold that lapsed in between is never
numbered, and no two holders can ever be numbered for one period of the resource.
The token is the revision that writes `$locks/<name>`, i.e. that key's createRev.

KEYS[1..8] see lock-lib.lua     KEYS[9] the Redlock resource key
ARGV[1..3] see lock-lib.lua     ARGV[4] lock name    ARGV[5] holder agent id
ARGV[6] holder as JSON          ARGV[7] Redlock's value for this hold

Returns {1, token, expiresAt}; {-5} the hold is no longer ours; {-4} the board has no meta.
]]

local resource, name, holder, holderJson, holdValue = KEYS[9], ARGV[4], ARGV[5], ARGV[6], ARGV[7]

if redis.call('GET', resource) ~= holdValue then return done(-5) end
local ttl = redis.call('PTTL', resource)
if ttl <= 0 then return done(-5) end
if redis.call('EXISTS', META) == 0 then return done(-4) end

local now = now_ms()
sweep_due(now, 100)

local key = LOCK_PREFIX .. name
if redis.call('HEXISTS', KV, key) == 1 then
  -- A predecessor whose hold lapsed a moment ago and was not swept yet: its deletion is a
  -- revision of its own, so that the new `$locks/<name>` is created (createRev = token).
  redis.call('HDEL', LOCKS, name)
  redis.call('ZREM', DEADLINES, key)
  write(ARGV[3], {{'delete', key}}, 'delete')
end

-- Nothing below can fail, so the put's revision is the next one.
local token = tonumber(redis.call('HGET', META, 'rev')) + 1
local expiresAt = now + ttl
local value = '{"holder":' .. holderJson .. ',"token":' .. token .. ',"expiresAt":' .. expiresAt .. '}'
write(holderJson, {{'put', key, value}}, 'put')
redis.call('HSET', LOCKS, name, token .. ':' .. expiresAt .. ':' .. holder)
redis.call('ZADD', DEADLINES, expiresAt, key)
return done(1, token, expiresAt)
