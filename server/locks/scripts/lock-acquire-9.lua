--[[
lock-acquire: takes the lock's resource key and numbers the hold, in one step. The resource is
Redlock's (one instance): `SET NX PX` with a random value, so that only the holder of that
value extends or deletes it. Taking it and numbering it in the same script means a hold is
never left unnumbered and no two holders can ever be numbered for one period of the resource.
The token is the revision that writes `$locks/<name>`, i.e. that key's createRev.

KEYS[1..8] see deadline-lib.lua     KEYS[9] the resource key
ARGV[1..3] see deadline-lib.lua     ARGV[4] lock name    ARGV[5] holder agent id
ARGV[6] holder as JSON          ARGV[7] a random value for this hold   ARGV[8] ttl (ms)

Returns {1, token, expiresAt, register}: register is 1 when the lock's deadline is the board's
earliest (the caller must then lower the board's entry in the global index of boards with
deadlines; a later deadline is covered by the earlier one's entry);
{-7} the resource is held by another; {-4} the board has no meta (nothing was changed).
]]

local resource, name, holder, holderJson, holdValue = KEYS[9], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local ttl = tonumber(ARGV[8])

if redis.call('EXISTS', META) == 0 then return done(-4) end
if not redis.call('SET', resource, holdValue, 'NX', 'PX', ttl) then return done(-7) end

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
local first = redis.call('ZRANGE', DEADLINES, 0, 0)
return done(1, token, expiresAt, first[1] == key and 1 or 0)
