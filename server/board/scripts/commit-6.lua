--[[
commit: applies one atomic write (put, patch, delete or txn) to a board and logs it.
The revision message it logs and publishes, and the event JSON in it, are documented in
server/board/event-codec.ts, the one module that reads and rebuilds them.

KEYS[1] meta    hash   rev, epoch, epochRev, pw (persisted watermark, when history is on)
KEYS[2] kv      hash   key -> "version:createRev:modRev:<value JSON>"
KEYS[3] idx     zset   every key, score 0, for prefix listing in byte order
KEYS[4] log     stream one entry per revision, id "<rev>-0", field m = the event message
KEYS[5] req     string "<fingerprint>\n<first result>" of this agent's reqId (ignored when ARGV[2] is "0")
KEYS[6] locks   hash   lock name -> "token:expiresAtMs:holder", for fencing

ARGV[1] actor as a JSON string        ARGV[2] the request's fingerprint when KEYS[5] is a real
                                      reqId key, else "0"
ARGV[3] fence lock name or ""         ARGV[4] fence token
ARGV[5] result shape: put|patch|delete|txn
ARGV[6] revisions kept in the stream  ARGV[7] channel to publish the message on
ARGV[8] n compares, then n pairs: key, expected version
then    n ops, then n groups of 5: kind (put|patch|delete), key, key as JSON, value JSON, patch JSON
then    optionally: the board's schema-versions hash (same hash tag), then n schema versions, one
        per op ("" none); each put/patch records "rev:schemaVersion" there, a delete or "" clears it
last    the most revisions that may wait above the persisted watermark pw (0: no bound)

Values stay opaque strings: cjson would mangle them ([] -> {}, big numbers).

Returns {1, rev, result JSON} committed; {2, 0, result JSON} a repeated reqId of the same request;
{-6} the reqId was used for a different request (another fingerprint);
{-1, key, expected, actual version, record or ""}... for failed compares;
{-2} fenced; {-3, key} a delete or patch of a missing key; {-4} the board has no meta;
{-5} too many revisions are waiting for Postgres (the stream would have to drop some).
]]

local meta, kv, idx, log, reqKey, locks = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]

local fingerprint = ARGV[2]
if fingerprint ~= '0' then
  local first = redis.call('GET', reqKey)
  if first then
    local cut = string.find(first, '\n', 1, true)
    if cut and string.sub(first, 1, cut - 1) == fingerprint then return {2, 0, string.sub(first, cut + 1)} end
    return {-6}
  end
end

local state = redis.call('HMGET', meta, 'rev', 'epoch', 'pw')
if not state[1] then return {-4} end
local watermark = state[3] and tonumber(state[3])

local backlogLimit = tonumber(ARGV[#ARGV]) or 0
if backlogLimit > 0 and watermark and tonumber(state[1]) - watermark >= backlogLimit then return {-5} end

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)

if ARGV[3] ~= '' then
  local lock = redis.call('HGET', locks, ARGV[3])
  if not lock then return {-2} end
  local token, expiresAt = string.match(lock, '^(%d+):(%d+):')
  if token ~= ARGV[4] or tonumber(expiresAt) <= now then return {-2} end
end

local function version_of(record)
  if not record then return 0 end
  return tonumber(string.match(record, '^(%d+):'))
end

local pos = 9
local nCompares = tonumber(ARGV[8])
local failed = {-1}
for _ = 1, nCompares do
  local key, expected = ARGV[pos], tonumber(ARGV[pos + 1])
  pos = pos + 2
  local record = redis.call('HGET', kv, key)
  local actual = version_of(record)
  if actual ~= expected then
    table.insert(failed, key)
    table.insert(failed, expected)
    table.insert(failed, actual)
    table.insert(failed, record or '')
  end
end
if #failed > 1 then return failed end

local nOps = tonumber(ARGV[pos])
pos = pos + 1
local opsStart = pos
for _ = 1, nOps do
  local kind, key = ARGV[pos], ARGV[pos + 1]
  if kind ~= 'put' and redis.call('HEXISTS', kv, key) == 0 then return {-3, key} end
  pos = pos + 5
end
local schemaVersions, svPos = nil, pos
if #ARGV - pos == nOps + 1 then schemaVersions, svPos = ARGV[pos], pos + 1 end

local rev = redis.call('HINCRBY', meta, 'rev', 1)
-- Numbers are written as text once each: Lua formats a number anew (sprintf) at every concatenation.
local revText = string.format('%d', rev)
local nowText = string.format('%d', now)
local epoch = state[2]
local actor = ARGV[1]
local lines = {revText, epoch, nOps}
local results = {}
local versionOut = '0'
local valueOut = nil

pos = opsStart
for i = 1, nOps do
  local kind, key, keyJson, value, patch = ARGV[pos], ARGV[pos + 1], ARGV[pos + 2], ARGV[pos + 3], ARGV[pos + 4]
  pos = pos + 5
  local event
  if kind == 'delete' then
    redis.call('HDEL', kv, key)
    redis.call('ZREM', idx, key)
    event = '{"rev":' .. revText .. ',"key":' .. keyJson .. ',"type":"delete","version":0,"actor":' .. actor .. ',"ts":' .. nowText .. '}'
    table.insert(results, '{}')
    versionOut = '0'
  else
    local record = redis.call('HGET', kv, key)
    local version, createRev = 1, revText
    if record then
      local v, c = string.match(record, '^(%d+):(%d+):')
      version, createRev = tonumber(v) + 1, c
    else
      redis.call('ZADD', idx, 0, key)
    end
    local versionText = string.format('%d', version)
    redis.call('HSET', kv, key, versionText .. ':' .. createRev .. ':' .. revText .. ':' .. value)
    event = '{"rev":' .. revText .. ',"key":' .. keyJson .. ',"type":"put","version":' .. versionText .. ',"value":' .. value .. ',"actor":' .. actor .. ',"ts":' .. nowText .. '}'
    if kind == 'patch' then
      table.insert(results, '{"version":' .. versionText .. ',"value":' .. value .. '}')
      valueOut = value
    else
      table.insert(results, '{"version":' .. versionText .. '}')
    end
    versionOut = versionText
  end
  if schemaVersions then
    local sv = ARGV[svPos + i - 1]
    if kind ~= 'delete' and sv ~= '' then redis.call('HSET', schemaVersions, key, revText .. ':' .. sv)
    else redis.call('HDEL', schemaVersions, key) end
  end
  table.insert(lines, key)
  table.insert(lines, event)
  table.insert(lines, patch)
end

local message = table.concat(lines, '\n')
redis.call('XADD', log, revText .. '-0', 'm', message)

local floor = rev - tonumber(ARGV[6]) + 1
if watermark and watermark + 1 < floor then floor = watermark + 1 end
if floor > 1 then redis.call('XTRIM', log, 'MINID', '~', floor .. '-0') end

redis.call('PUBLISH', ARGV[7], message)

local shape = ARGV[5]
local result
if shape == 'put' then
  result = '{"version":' .. versionOut .. ',"rev":' .. revText .. '}'
elseif shape == 'patch' then
  result = '{"version":' .. versionOut .. ',"rev":' .. revText .. ',"value":' .. valueOut .. '}'
elseif shape == 'delete' then
  result = '{"rev":' .. revText .. '}'
else
  result = '{"rev":' .. revText .. ',"results":[' .. table.concat(results, ',') .. ']}'
end

-- Kept as long as REQ_ID_TTL_MS in store.ts says (a rebuild within that time starts a new epoch).
if fingerprint ~= '0' then redis.call('SET', reqKey, fingerprint .. '\n' .. result, 'EX', 600) end
return {1, rev, result}
