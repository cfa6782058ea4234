--[[
task-touch: the holder of a task proves its token and renews its lease, optionally
reporting progress and saving a checkpoint, and mirrors what changed on the board, in one
step. BullMQ's updateData/updateProgress never read the lock, so the check and the write
happen here.

KEYS[1..10] see task-lib.lua    KEYS[11] queue stalled set
ARGV[1..6] see task-lib.lua     ARGV[7] delivery token   ARGV[8] progress (JSON number) or ""
ARGV[9] "1" to save ARGV[10] as the checkpoint (opaque JSON text), else "0"

Returns {1, seq, progress changed 0/1, lease ms, mirror status, mirror rev} (mirror status
as task-lib's mirror(), 0 when nothing needed mirroring); {-2} the token is not the lock's
(fenced).
]]

local stalled, token = KEYS[11], ARGV[7]

if redis.call('GET', JOB_LOCK) ~= token then return {-2} end

local held = redis.call('HMGET', JOB, 'bbLease', 'progress', 'bbSeq')
local lease = tonumber(held[1] or '30000')
redis.call('SET', JOB_LOCK, token, 'PX', lease)
redis.call('SREM', stalled, TASK_ID)

local changed = 0
if ARGV[8] ~= '' and held[2] ~= ARGV[8] then
  redis.call('HSET', JOB, 'progress', ARGV[8])
  changed = 1
end

local seq = tonumber(held[3] or '0')
if ARGV[9] == '1' then
  seq = redis.call('HINCRBY', JOB, 'bbSeq', 1)
  redis.call('HSET', JOB, 'bbCp', ARGV[10])
end
local m = {0, 0}
if ARGV[9] == '1' or changed == 1 then m = mirror() end
return {1, seq, changed, lease, m[1], m[2]}
