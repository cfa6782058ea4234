--[[
list: one page of keys by plain prefix in ascending byte order, with the board's revision, atomically.

KEYS[1] meta  KEYS[2] kv  KEYS[3] idx
ARGV[1] prefix  ARGV[2] exclusive cursor key or ""  ARGV[3] limit (at least 1)
ARGV[4] bytes after which the page ends early, more = 1 (0: no bound); it holds at least one key

Returns {rev, epoch or "", more (0|1), key1, record1, key2, record2, ...}.
]]
local state = redis.call('HMGET', KEYS[1], 'rev', 'epoch')
local prefix, after, limit, maxBytes = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])

local low = '[' .. prefix
if after ~= '' and after >= prefix then low = '(' .. after end
-- 0xff never occurs in UTF-8, so every key starting with prefix sorts below prefix..0xff.
local high = '(' .. prefix .. '\255'
if prefix == '' then high = '+' end

local keys = redis.call('ZRANGEBYLEX', KEYS[3], low, high, 'LIMIT', 0, limit + 1)
local more = 0
if #keys > limit then
  more = 1
  keys[#keys] = nil
end

local out = {tonumber(state[1]) or 0, state[2] or '', more}
if maxBytes > 0 then
  -- Cut by size: one record at a time, so that nothing past the bound is read.
  local bytes = 0
  for i = 1, #keys do
    if bytes >= maxBytes then
      out[3] = 1
      return out
    end
    local record = redis.call('HGET', KEYS[2], keys[i]) or ''
    table.insert(out, keys[i])
    table.insert(out, record)
    bytes = bytes + #keys[i] + #record
  end
  return out
end
-- HMGET in slices: unpack() of a very large table overflows Lua's stack.
local SLICE = 1000
for first = 1, #keys, SLICE do
  local last = math.min(first + SLICE - 1, #keys)
  local records = redis.call('HMGET', KEYS[2], unpack(keys, first, last))
  for i = first, last do
    table.insert(out, keys[i])
    table.insert(out, records[i - first + 1] or '')
  end
end
return out
