--[[
task-read: one consistent look at a task: its BullMQ job, whether it is locked, in the
failed or delayed set, and the board record that mirrors it.

KEYS[1] job hash   KEYS[2] job lock   KEYS[3] failed zset   KEYS[4] delayed zset
KEYS[5] board kv hash

ARGV[1] job id   ARGV[2] mirror status key

Returns {mirror record or "", exists 0/1, locked 0/1, failed 0/1, delayed 0/1,
 bbTry, atm, bbLost, bbSeq, bbCp, progress, finishedOn, failedReason, returnvalue,
 bbWorker, opts, bbCancel, data}.
]]

local mirror = redis.call('HGET', KEYS[5], ARGV[2]) or ''
if redis.call('EXISTS', KEYS[1]) == 0 then return {mirror, 0} end

local locked = redis.call('EXISTS', KEYS[2])
local failed = redis.call('ZSCORE', KEYS[3], ARGV[1]) and 1 or 0
local delayed = redis.call('ZSCORE', KEYS[4], ARGV[1]) and 1 or 0
local f = redis.call('HMGET', KEYS[1], 'bbTry', 'atm', 'bbLost', 'bbSeq', 'bbCp', 'progress', 'finishedOn',
  'failedReason', 'returnvalue', 'bbWorker', 'opts', 'bbCancel', 'data')
local out = {mirror, 1, locked, failed, delayed}
for i = 1, 13 do out[5 + i] = f[i] or '' end
return out
