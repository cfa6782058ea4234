--[[
rebuild-begin: claims a board whose meta is missing for a rebuild from Postgres and clears
whatever a half-finished earlier rebuild left.

KEYS[1] meta  KEYS[2] rebuild lock  KEYS[3] kv  KEYS[4] idx  KEYS[5] log
ARGV[1] lock token  ARGV[2] lock lifetime (ms)

Returns {1} claimed; {0} the board has meta (nothing to do); {-7} another rebuild holds the lock.
]]
if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {-7} end
redis.call('DEL', KEYS[3], KEYS[4], KEYS[5])
return {1}
