--[[
task-sync: makes the board's mirror of a task what BullMQ holds now, in one step.

KEYS, ARGV[1..6]: see task-lib.lua.

Returns mirror()'s {status, rev, state}.
]]

return mirror()
