--[[
rebuild-load: writes one chunk of key records of a board being rebuilt.

KEYS[1] rebuild lock  KEYS[2] kv  KEYS[3] idx
ARGV[1] lock token, then pairs: key, record ("version:createRev:modRev:<value JSON>")

Returns {number of keys written}, or {-2} when the lock is no longer this rebuild's (fenced).
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {-2} end
local n = 0
for i = 2, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  redis.call('ZADD', KEYS[3], 0, ARGV[i])
  n = n + 1
end
return {n}
