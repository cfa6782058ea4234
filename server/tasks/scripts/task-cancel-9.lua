--[[
task-cancel: marks a task cancelled. A task nobody holds leaves every BullMQ list here
and goes to the failed set, so it is never delivered; a held one is reported with its
lock token, and the caller fails it through BullMQ with that token (a locked job
cannot be removed). The mark also stops a delivery that races with this script:
task-activate refuses a cancelled job.

KEYS[1] job hash  KEYS[2] job lock  KEYS[3] wait  KEYS[4] paused  KEYS[5] delayed
KEYS[6] prioritized  KEYS[7] active  KEYS[8] failed  KEYS[9] queue event stream

ARGV[1] job id   ARGV[2] now (ms)

Returns {0} no such job; {1} already finished; {2, token} held; {3} cancelled here.
]]

local job, id = KEYS[1], ARGV[1]
if redis.call('EXISTS', job) == 0 then return {0} end
if redis.call('HEXISTS', job, 'finishedOn') == 1 then return {1} end

redis.call('HSET', job, 'bbCancel', '1')
local token = redis.call('GET', KEYS[2])
if token then return {2, token} end

redis.call('LREM', KEYS[3], 0, id)
redis.call('LREM', KEYS[4], 0, id)
redis.call('ZREM', KEYS[5], id)
redis.call('ZREM', KEYS[6], id)
-- Active without a lock: its holder was lost and nobody has taken it back yet.
redis.call('LREM', KEYS[7], 0, id)
redis.call('ZADD', KEYS[8], ARGV[2], id)
redis.call('HSET', job, 'finishedOn', ARGV[2], 'failedReason', 'cancelled')
redis.call('XADD', KEYS[9], 'MAXLEN', '~', 10000, '*', 'event', 'failed', 'jobId', id, 'failedReason', 'cancelled',
  'prev', 'waiting')
return {3}
