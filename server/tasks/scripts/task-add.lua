--[[
task-add: adds a task to its queue unless the board already has one of that id, and
mirrors it, in one step. It is composed like the task write scripts, with one of BullMQ's
add scripts (standard, prioritized or delayed; server/tasks/scripts.ts picks it as
Queue.add would) in front as a function `bull_add(KEYS, ARGV)`, called with the keys and
args Queue.add would send it.

KEYS[1..10] see task-lib.lua   KEYS[11] the board's task index (task id -> queue)
KEYS[12..] the BullMQ add script's keys
ARGV[1..6] see task-lib.lua    ARGV[7] the job's name, a nonce: whether this add made the job
ARGV[8..10] the BullMQ add script's args

Returns {1, mirror status, mirror rev}: added and mirrored (as task-lib's mirror());
{0, 0, 0}: the board has this task already; {2, 0, 0, queue}: the id is a task of another
queue; {3, 0, 0, code}: BullMQ refused the add.
]]

local index, nonce = KEYS[11], ARGV[7]
local owner = redis.call('HGET', index, TASK_ID)
if owner and owner ~= QUEUE then return {2, 0, 0, owner} end
if not owner then
  redis.call('HSET', index, TASK_ID, QUEUE)
elseif redis.call('EXISTS', JOB) == 0 and redis.call('HEXISTS', KV, '$tasks/' .. QUEUE .. '/' .. TASK_ID) == 1 then
  -- A finished task whose job BullMQ has since removed still exists on the board.
  return {0, 0, 0}
end

local bullKeys = {}
for i = 12, #KEYS do bullKeys[#bullKeys + 1] = KEYS[i] end
local added = bull_add(bullKeys, {ARGV[8], ARGV[9], ARGV[10]})
if type(added) == 'number' and added < 0 then return {3, 0, 0, added} end
-- BullMQ keeps the first job of an id: another name means the task was there already.
if redis.call('HGET', JOB, 'name') ~= nonce then return {0, 0, 0} end
local m = mirror()
return {1, m[1], m[2]}
