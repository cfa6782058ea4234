--[[
sweep-expired: deletes a board's expired `$locks/...` and `$presence/...` keys through the
write path (expiry makes no event by itself), and says when the next deadline falls.

KEYS[1..8] see deadline-lib.lua
ARGV[1..3] see deadline-lib.lua     ARGV[4] most keys to delete in this call

Returns {1, deleted, more (1/0), next deadline or -1}; {-4} the board has no meta.
]]

if redis.call('EXISTS', META) == 0 then return done(-4) end
local deleted, more = sweep_due(now_ms(), tonumber(ARGV[4]))
local first = redis.call('ZRANGE', DEADLINES, 0, 0, 'WITHSCORES')
return done(1, deleted, more and 1 or 0, first[2] or '-1')
