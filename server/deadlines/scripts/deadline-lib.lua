--[[
deadline-lib: shared by the lock-*, presence-* and sweep-expired scripts. It is not a script
of its own: server/deadlines/scripts.ts compiles commit-6.lua in front of it as a function
`commit(keys, args)`, then this file, then the script, so that every `$locks/...` and
`$presence/...` change goes through the one write path (kv record, revision, stream entry,
publish) exactly as a client's write does.

Every script that includes it takes
KEYS[1..6] the commit keys: meta, kv, idx, log, req (unused), locks
KEYS[7]    deadlines  zset  `$locks/<name>` and `$presence/<agent>` keys, scored by expiry (ms)
KEYS[8]    presence   hash  agent -> id of the connection that set its presence
ARGV[1] revisions kept in the stream   ARGV[2] channel to publish on
ARGV[3] the actor of expiry deletions, as JSON

Every reply ends with the last revision the script committed (0: none), built by done(...);
a first element below 0 is a failure code of server/board/script-failures.ts.
]]

local COMMIT_KEYS = {KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]}
local META, KV, LOCKS, DEADLINES, OWNERS = KEYS[1], KEYS[2], KEYS[6], KEYS[7], KEYS[8]
local LOCK_PREFIX, PRESENCE_PREFIX = '$locks/', '$presence/'
local last_rev = 0

local function done(...)
  local reply = {...}
  table.insert(reply, last_rev)
  return reply
end

local function now_ms()
  local clock = redis.call('TIME')
  return tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
end

-- cjson escapes '/' as '\/': valid JSON, but keys in events read better without it.
local function json_string(s)
  return (string.gsub(cjson.encode(s), '\\/', '/'))
end

local function starts_with(s, prefix)
  return string.sub(s, 1, #prefix) == prefix
end

-- Commits ops ({kind, key, value JSON}) as one revision, without compares, fence or reqId,
-- and without the bound on revisions waiting for Postgres (expiry must never be refused).
local function write(actorJson, ops, shape)
  local args = {actorJson, '0', '', '0', shape, ARGV[1], ARGV[2], '0', #ops}
  for _, op in ipairs(ops) do
    table.insert(args, op[1])
    table.insert(args, op[2])
    table.insert(args, json_string(op[2]))
    table.insert(args, op[3] or '')
    table.insert(args, '')
  end
  table.insert(args, '0')
  local reply = commit(COMMIT_KEYS, args)
  if reply[1] == 1 then last_rev = reply[2] end
  return reply
end

-- Deletes, as one revision, the `$` keys whose deadline has passed (at most `limit` of them).
-- A lock's own record is the authority on its expiry; the zset only says where to look.
-- The board's meta must exist. Returns the number deleted and whether more may be due.
local function sweep_due(now, limit)
  local due = redis.call('ZRANGEBYSCORE', DEADLINES, '-inf', now, 'LIMIT', 0, limit)
  local ops = {}
  for _, member in ipairs(due) do
    local expired = true
    if starts_with(member, LOCK_PREFIX) then
      local name = string.sub(member, #LOCK_PREFIX + 1)
      local record = redis.call('HGET', LOCKS, name)
      if record then
        local expiresAt = tonumber(string.match(record, '^%d+:(%d+):'))
        if expiresAt > now then
          expired = false
          redis.call('ZADD', DEADLINES, expiresAt, member)
        else
          redis.call('HDEL', LOCKS, name)
        end
      end
    elseif starts_with(member, PRESENCE_PREFIX) then
      redis.call('HDEL', OWNERS, string.sub(member, #PRESENCE_PREFIX + 1))
    end
    if expired then
      redis.call('ZREM', DEADLINES, member)
      if redis.call('HEXISTS', KV, member) == 1 then table.insert(ops, {'delete', member}) end
    end
  end
  if #ops > 0 then write(ARGV[3], ops, 'txn') end
  return #ops, #due == limit
end
