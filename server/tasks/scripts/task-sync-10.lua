--[[
task-sync: makes the board's mirror of a task what BullMQ holds now, in one step.

KEYS, ARGV[1..6]: see task-lib.lua.
ARGV[7] optional: the name a `Queue.add` just gave the job (a nonce); when the job has
another name, that add found the task already there and nothing is mirrored.

Returns mirror()'s {status, rev, state}; {-9, 0, ""} the job was not made by that add (not added).
]]

if ARGV[7] and ARGV[7] ~= '' and redis.call('HGET', JOB, 'name') ~= ARGV[7] then return {-9, 0, ''} end
return mirror()
