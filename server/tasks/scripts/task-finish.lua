--[[
task-finish: completes a task held by a worker of this node, mirrors it, and hands the
queue's next job to the same worker, in one step. It is composed like the task write
scripts, with BullMQ's moveToFinished script in front as a function
`bull_finish(KEYS, ARGV)`, called with the keys and args BullMQ builds for a completion
that fetches the next job (as BullMQ's own worker completes). That job comes locked with
the finished delivery's token; it is activated as task-activate does, under a token of
its own. The completion's mirror and the delivery's are one revision (task-lib's
mirror_ops() for each, one commit_ops()): they stand or fall together.

KEYS[1..10] see task-lib.lua (the finished task)   KEYS[11..24] moveToFinished's keys
ARGV[1..6] see task-lib.lua   ARGV[7] the next delivery's token   ARGV[8] lease ms
ARGV[9] worker id   ARGV[10] losses allowed (MAX_TASK_LOSSES)   ARGV[11..] moveToFinished's args

Returns
  {0, 0, 0, code}: BullMQ refused (its error code: the token no longer holds the task);
  {1, mirror status, rev}: completed and mirrored (as task-lib's mirror()), no next job;
  {2, mirror status, rev, next id, next job (BullMQ's fields), attempt, seq, checkpoint
   JSON or "", progress, mirror status, 0}: completed, and the next job delivered (as
   task-activate's reply; its mirror is the completion's revision, so no rev of its own);
  {3, mirror status, rev, next id, next job, reason}: completed; the job fetched was not
   delivered ("cancelled", "lost", or "mirror": the board refuses the completion's
   revision, not written), and is still locked with the finished delivery's token.
]]

local bullKeys, bullArgs = {}, {}
for i = 11, #KEYS do bullKeys[#bullKeys + 1] = KEYS[i] end
for i = 11, #ARGV do bullArgs[#bullArgs + 1] = ARGV[i] end
local stalled = bullKeys[5]

local r = bull_finish(bullKeys, bullArgs)
if type(r) == 'number' and r < 0 then return {0, 0, 0, r} end
-- The completion and the next delivery are one revision: the mirror ops of both, committed once.
local ops = {}
local finished = mirror_ops(ops)[1]
local function committed()
  if #ops == 0 then return {finished == -8 and -8 or 0, 0} end
  return commit_ops(ops)
end
if type(r) ~= 'table' or not r[1] or r[1] == 0 or not r[2] or r[2] == 0 then
  local fin = committed()
  return {1, fin[1], fin[2]}
end

local nextId, nextJob = r[2], r[1]
-- A completion whose revision the board would refuse delivers nothing: the job stays as fetched.
if finished == 1 then
  local refusal = commit_refusal()
  if refusal then return {3, refusal, 0, nextId, nextJob, 'mirror'} end
end

-- From here on the task is the next job.
local base = string.sub(JOB, 1, #JOB - #TASK_ID)
JOB, JOB_LOCK, TASK_ID = base .. nextId, base .. nextId .. ':lock', nextId

if redis.call('HEXISTS', JOB, 'bbCancel') == 1 then
  local fin = committed()
  return {3, fin[1], fin[2], nextId, nextJob, 'cancelled'}
end
local f, lost = activation_fields()
if lost > tonumber(ARGV[10]) then
  local fin = committed()
  return {3, fin[1], fin[2], nextId, nextJob, 'lost'}
end

local attempt = redis.call('HINCRBY', JOB, 'bbTry', 1)
redis.call('HSET', JOB, 'bbWorker', ARGV[9], 'bbLease', ARGV[8])
redis.call('SET', JOB_LOCK, ARGV[7], 'PX', ARGV[8])
redis.call('SREM', stalled, TASK_ID)
mirror_ops(ops)
local m = committed()
-- The revision is the completion's too: reported once, with the completion.
return {2, m[1], m[2], nextId, nextJob, attempt, tonumber(f[4] or '0'), f[5] or '', f[6] or '0', m[1], 0}
