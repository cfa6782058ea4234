--[[
task-lib: shared by the task-* scripts of this folder. It is not a script of its own:
server/tasks/scripts.ts compiles commit-6.lua in front of it (as a function
`commit(keys, args)`), then this file, then the script, so that a task's change and its
mirror on the board (`$tasks/<queue>/<taskId>`, through the one write path) are one step.
The board's keys and a BullMQ queue's of that board share a hash tag: one slot.

Every script that includes it takes
KEYS[1..6] the commit keys: meta, kv, idx, log, req (unused), locks
KEYS[7] job hash   KEYS[8] job lock   KEYS[9] queue failed zset   KEYS[10] queue delayed zset
ARGV[1] revisions kept in the stream   ARGV[2] channel to publish on
ARGV[3] the most revisions that may wait for Postgres (0: no bound)
ARGV[4] actor as JSON   ARGV[5] queue name   ARGV[6] task id

mirror() returns {status, rev, state}: status 1 committed at rev, 0 the mirror was already
the task's, -8 BullMQ has no such job, -4 the board has no meta, -5 too many revisions wait
for Postgres (failure codes as in server/board/script-failures.ts). mirror_ops() and
commit_ops() are its two halves, for a script that mirrors two tasks in one revision.
]]

local COMMIT_KEYS = {KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]}
local KV, JOB, JOB_LOCK, FAILED, DELAYED = KEYS[2], KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local ACTOR, QUEUE, TASK_ID = ARGV[4], ARGV[5], ARGV[6]

-- cjson escapes '/' as '\/': valid JSON, but keys and values read better without it. A
-- string with no control character, quote, backslash or byte past ASCII needs no escape at
-- all (the common case: task ids, queue names, worker ids), so it is quoted as it is.
local function json_string(s)
  if not string.find(s, '[%c"\\\128-\255]') then return '"' .. s .. '"' end
  return (string.gsub(cjson.encode(s), '\\/', '/'))
end

local function int(n)
  return string.format('%d', n)
end

local function num(field)
  return tonumber(field or '') or 0
end

-- BullMQ stores what it is given with JSON.stringify; we give it JSON text, so one decode gives it back.
local function unwrap_text(field)
  if not field or field == '' then return nil end
  local ok, inner = pcall(cjson.decode, field)
  if ok and type(inner) == 'string' and inner ~= '' then return inner end
  return nil
end

-- The task as BullMQ holds it, the same reading as server/tasks/snapshot.ts's readTask.
-- Each check is made only where the state depends on it (the lock unless finished, the
-- failed set once finished, the delayed set while neither): a Redis call from Lua costs.
local function read_task()
  local f = redis.call('HMGET', JOB, 'bbTry', 'atm', 'bbLost', 'bbSeq', 'bbCp', 'progress', 'finishedOn',
    'failedReason', 'returnvalue', 'bbWorker', 'opts', 'bbCancel', 'timestamp')
  -- BullMQ's add writes opts and timestamp: without either, ask whether the hash exists at all.
  if not f[11] and not f[13] and redis.call('EXISTS', JOB) == 0 then return nil end
  local t = {}
  local finishedOn, cancel = f[7] or '', f[12] or ''
  local locked = false
  if finishedOn ~= '' then
    if cancel ~= '' then
      t.state = 'cancelled'
    else
      t.state = redis.call('ZSCORE', FAILED, TASK_ID) ~= false and 'failed' or 'completed'
    end
  else
    locked = redis.call('EXISTS', JOB_LOCK) == 1
    if locked then
      t.state = 'active'
    else
      t.state = redis.call('ZSCORE', DELAYED, TASK_ID) ~= false and 'delayed' or 'waiting'
    end
  end
  local terminal = t.state == 'completed' or t.state == 'failed' or t.state == 'cancelled'
  local opts = {}
  if f[11] and f[11] ~= '' then
    local ok, decoded = pcall(cjson.decode, f[11])
    if ok and type(decoded) == 'table' then opts = decoded end
  end
  local made, lost = num(f[2]), num(f[3])
  t.attempt = num(f[1])
  t.attempts = tonumber(opts.attempts) or 1
  t.failures = math.max(0, made - (t.state == 'completed' and 1 or 0))
  -- Deliveries not ended by a failure or completion were lost (task-activate counts them for good).
  local pending = math.max(0, t.attempt - made - lost - (locked and 1 or 0))
  t.losses = lost + (terminal and 0 or pending)
  t.progress = (f[6] and tonumber(f[6])) and f[6] or '0'
  t.seq = num(f[4])
  t.checkpoint = (f[5] and f[5] ~= '') and f[5] or nil
  t.result = t.state == 'completed' and unwrap_text(f[9]) or nil
  if t.state == 'failed' or t.state == 'cancelled' then
    t.error = (f[8] and f[8] ~= '') and f[8] or t.state
  end
  t.worker = (f[10] and f[10] ~= '') and f[10] or nil
  local backoff = type(opts.backoff) == 'table' and tonumber(opts.backoff.delay) or nil
  t.backoff = backoff
  t.priority = tonumber(opts.priority) or 0
  return t
end

-- The status part of the mirror (stable key order, so equal states give equal text).
local function status_text(t)
  local parts = {
    '"state":"' .. t.state .. '"',
    '"attempt":' .. int(t.attempt),
    '"attempts":' .. int(t.attempts),
    '"failures":' .. int(t.failures),
    '"losses":' .. int(t.losses),
    '"progress":' .. t.progress,
    '"seq":' .. int(t.seq),
  }
  if t.worker and t.state == 'active' then table.insert(parts, '"worker":' .. json_string(t.worker)) end
  if t.error then table.insert(parts, '"error":' .. json_string(t.error)) end
  if t.result then table.insert(parts, '"result":' .. t.result) end
  return '{' .. table.concat(parts, ',') .. '}'
end

-- The task's data is read (and decoded) only here: the spec is written once, the status often.
local function spec_text(t)
  local data = unwrap_text(redis.call('HGET', JOB, 'data')) or 'null'
  local backoff = t.backoff and (',"backoffMs":' .. int(t.backoff)) or ''
  return '{"data":' .. data .. ',"attempts":' .. int(t.attempts) .. backoff .. ',"priority":' .. int(t.priority) .. '}'
end

-- The job's activation fields (bbTry, atm, bbLost, bbSeq, bbCp, progress) and its losses,
-- counting as lost the deliveries no attempt and no loss accounts for (a node died
-- between taking the job and activating it).
local function activation_fields()
  local f = redis.call('HMGET', JOB, 'bbTry', 'atm', 'bbLost', 'bbSeq', 'bbCp', 'progress')
  local tries = tonumber(f[1] or '0')
  local made = tonumber(f[2] or '0')
  local lost = tonumber(f[3] or '0')
  local unaccounted = tries - made - lost
  if unaccounted > 0 then
    lost = lost + unaccounted
    redis.call('HSET', JOB, 'bbLost', lost)
  end
  return f, lost
end

-- Adds to `ops` the puts that make `$tasks/<queue>/<taskId>` the task as it is now (with a
-- new checkpoint in `…/checkpoint`, and `…/spec` the first time). Returns {1, state} when it
-- added some, {0, state} when the mirror already is the task, {-8, ''} when BullMQ has no such job.
local function mirror_ops(ops)
  local t = read_task()
  if not t then return {-8, ''} end
  local status = '$tasks/' .. QUEUE .. '/' .. TASK_ID
  local record = redis.call('HGET', KV, status)
  local current = record and string.match(record, '^%d+:%d+:%d+:(.*)$') or nil
  local text = status_text(t)
  if current == text then return {0, t.state} end
  table.insert(ops, {status, text})
  local mirroredSeq = current and tonumber(string.match(current, '"seq":(%d+)') or '0') or 0
  if t.seq > mirroredSeq and t.checkpoint then table.insert(ops, {status .. '/checkpoint', t.checkpoint}) end
  if not record then table.insert(ops, {status .. '/spec', spec_text(t)}) end
  return {1, t.state}
end

-- The failure code commit() would refuse a revision with now, or nil: the board has no
-- meta (-4), or too many revisions wait for Postgres (-5); the checks of commit-6.lua, for a
-- script that must know before it changes more than the revision would show.
local function commit_refusal()
  if redis.call('EXISTS', KEYS[1]) == 0 then return -4 end
  local limit = tonumber(ARGV[3]) or 0
  if limit > 0 then
    local state = redis.call('HMGET', KEYS[1], 'rev', 'pw')
    if state[2] and tonumber(state[1]) - tonumber(state[2]) >= limit then return -5 end
  end
  return nil
end

-- Commits `ops` as one revision; {1, rev}, or {failure code, 0}.
local function commit_ops(ops)
  local args = {ACTOR, '0', '', '0', 'txn', ARGV[1], ARGV[2], '0', #ops}
  for _, op in ipairs(ops) do
    table.insert(args, 'put')
    table.insert(args, op[1])
    table.insert(args, json_string(op[1]))
    table.insert(args, op[2])
    table.insert(args, '')
  end
  table.insert(args, ARGV[3])
  local reply = commit(COMMIT_KEYS, args)
  if reply[1] == 1 then return {1, reply[2]} end
  return {reply[1], 0}
end

-- Makes `$tasks/<queue>/<taskId>` the task as it is now, as one revision. Nothing if it already is.
local function mirror()
  local ops = {}
  local m = mirror_ops(ops)
  if m[1] ~= 1 then return {m[1], 0, m[2]} end
  local c = commit_ops(ops)
  return {c[1], c[2], m[2]}
end
