--[[
lock-let-go: Redlock's release of a resource key: deletes it only if it still holds this
hold's value (so a hold that lapsed and was taken by another is left alone).

KEYS[1] the resource key    ARGV[1] the hold's value

Returns 1 if deleted, 0 if the value was not there.
]]

if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
