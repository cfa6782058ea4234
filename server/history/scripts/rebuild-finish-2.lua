--[[
rebuild-finish: brings a rebuilt board to life by writing its meta last, so commits
(which need meta) wait until every key record is back.

KEYS[1] meta  KEYS[2] rebuild lock
ARGV[1] lock token  ARGV[2] revision  ARGV[3] epoch  ARGV[4] revision where the epoch began

Returns {1} done; {-2} the lock was lost (fenced); {-12} the board already has meta.
]]
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return {-2} end
redis.call('DEL', KEYS[2])
if redis.call('EXISTS', KEYS[1]) == 1 then return {-12} end
redis.call('HSET', KEYS[1], 'rev', ARGV[2], 'epoch', ARGV[3], 'epochRev', ARGV[4], 'pw', ARGV[2])
return {1}
