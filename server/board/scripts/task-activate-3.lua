--[[
task-activate: hands a job that BullMQ just moved to active (locked with the delivery
token) to a remote worker: counts the deliveries lost before it, renews the lock for
the worker's lease and records who holds it.

KEYS[1] job hash   KEYS[2] job lock   KEYS[3] queue stalled set

ARGV[1] delivery token   ARGV[2] lease ms   ARGV[3] worker id
ARGV[4] losses allowed (MAX_TASK_LOSSES)    ARGV[5] job id

A delivery that ended neither by a failure (BullMQ's atm) nor by completion was lost:
losses = deliveries - atm, counted here so that a node that died mid-way loses nothing.

Returns {1, attempt, seq, checkpoint JSON or "", progress}; {-1} the token is not the
lock's; {-2} the task was cancelled; {-3, losses} lost more often than allowed.
]]

local job, lock, stalled = KEYS[1], KEYS[2], KEYS[3]

if redis.call('GET', lock) ~= ARGV[1] then return {-1} end
if redis.call('HEXISTS', job, 'bbCancel') == 1 then return {-2} end

local f = redis.call('HMGET', job, 'bbTry', 'atm', 'bbLost', 'bbSeq', 'bbCp', 'progress')
local tries = tonumber(f[1] or '0')
local made = tonumber(f[2] or '0')
local lost = tonumber(f[3] or '0')
local unaccounted = tries - made - lost
if unaccounted > 0 then
  lost = lost + unaccounted
  redis.call('HSET', job, 'bbLost', lost)
end
if lost > tonumber(ARGV[4]) then return {-3, lost} end

local attempt = redis.call('HINCRBY', job, 'bbTry', 1)
redis.call('HSET', job, 'bbWorker', ARGV[3], 'bbLease', ARGV[2])
redis.call('SET', lock, ARGV[1], 'PX', ARGV[2])
redis.call('SREM', stalled, ARGV[5])
return {1, attempt, tonumber(f[4] or '0'), f[5] or '', f[6] or '0'}
