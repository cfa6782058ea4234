--[[
task-activate: hands a job that BullMQ just moved to active (locked with the delivery
token) to a remote worker: counts the deliveries lost before it, renews the lock for
the worker's lease, records who holds it, and mirrors the delivery on the board, in one
step (the board shows the delivery before the worker hears of it).

KEYS[1..10] see task-lib.lua    KEYS[11] queue stalled set
ARGV[1..6] see task-lib.lua     ARGV[7] delivery token   ARGV[8] lease ms   ARGV[9] worker id
ARGV[10] losses allowed (MAX_TASK_LOSSES)

A delivery that ended neither by a failure (BullMQ's atm) nor by completion was lost:
losses = deliveries - atm, counted here so that a node that died mid-way loses nothing.

Returns {1, attempt, seq, checkpoint JSON or "", progress, mirror status, mirror rev} (mirror
status as task-lib's mirror(): the activation stands whatever it is); {-2} the token is not
the lock's (fenced); {-10} the task was cancelled; {-11, losses} lost more often than allowed.
]]

local stalled, token = KEYS[11], ARGV[7]

if redis.call('GET', JOB_LOCK) ~= token then return {-2} end
if redis.call('HEXISTS', JOB, 'bbCancel') == 1 then return {-10} end

local f, lost = activation_fields()
if lost > tonumber(ARGV[10]) then return {-11, lost} end

local attempt = redis.call('HINCRBY', JOB, 'bbTry', 1)
redis.call('HSET', JOB, 'bbWorker', ARGV[9], 'bbLease', ARGV[8])
redis.call('SET', JOB_LOCK, token, 'PX', ARGV[8])
redis.call('SREM', stalled, TASK_ID)
local m = mirror()
return {1, attempt, tonumber(f[4] or '0'), f[5] or '', f[6] or '0', m[1], m[2]}
