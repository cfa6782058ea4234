--[[
task-touch: the holder of a task proves its token and renews its lease, optionally
reporting progress and saving a checkpoint. BullMQ's updateData/updateProgress never
read the lock, so the check and the write happen here, in one script.

KEYS[1] job hash   KEYS[2] job lock   KEYS[3] queue stalled set

ARGV[1] delivery token   ARGV[2] progress (JSON number) or ""   ARGV[3] job id
ARGV[4] "1" to save ARGV[5] as the checkpoint (opaque JSON text), else "0"

Returns {1, seq, progress changed 0/1, lease ms}; {-1} the token is not the lock's (FENCED).
]]

local job, lock, stalled = KEYS[1], KEYS[2], KEYS[3]

if redis.call('GET', lock) ~= ARGV[1] then return {-1} end

local lease = tonumber(redis.call('HGET', job, 'bbLease') or '30000')
redis.call('SET', lock, ARGV[1], 'PX', lease)
redis.call('SREM', stalled, ARGV[3])

local changed = 0
if ARGV[2] ~= '' and redis.call('HGET', job, 'progress') ~= ARGV[2] then
  redis.call('HSET', job, 'progress', ARGV[2])
  changed = 1
end

local seq = tonumber(redis.call('HGET', job, 'bbSeq') or '0')
if ARGV[4] == '1' then
  seq = redis.call('HINCRBY', job, 'bbSeq', 1)
  redis.call('HSET', job, 'bbCp', ARGV[5])
end
return {1, seq, changed, lease}
