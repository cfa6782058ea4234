--[[
sweep-reschedule: after a sweep, moves a board's entry in the global index of boards with
deadlines to its next deadline (or removes it), unless someone changed the entry since the
sweeper read it: a concurrent registration must never be overwritten by a later time.

KEYS[1] the global zset of boards with deadlines
ARGV[1] board    ARGV[2] the score the sweeper read    ARGV[3] next deadline, or -1 for none

Returns 1 if the entry was updated, 0 if it had changed.
]]

local current = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not current or tonumber(current) ~= tonumber(ARGV[2]) then return 0 end
if ARGV[3] == '-1' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
return 1
