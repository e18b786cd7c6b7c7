-- Read a room's history, head and epoch, atomically (recover mode).
-- KEYS: 1 seq, 2 log (stream), 3 epoch, 4 (with epoch fencing) the room's
--       replication history
-- ARGV: 1 epoch candidate, 2 first stream id wanted, 3 last stream id wanted,
--       4 seconds a provisional epoch lasts, 5 '1' when the caller then waits
--       for replicas (WAIT): the read becomes a write, so that the wait
--       covers every write it read, 6 '1' for epoch fencing (as in the
--       publish script)
-- Returns {epoch, head, first, {message JSON, ...}}.
local fenced = ARGV[6] == '1' and fence(KEYS[4], KEYS[1], KEYS[2], KEYS[3])
if redis.call('SET', KEYS[3], ARGV[1], 'NX', 'EX', ARGV[4]) then
  -- Same rule as the publish script: a new epoch starts an empty history.
  -- Named by a read, it is provisional: a room only joined, never written
  -- to, leaves no key behind for long (the first publish keeps it).
  redis.call('DEL', KEYS[1], KEYS[2])
elseif redis.call('EXISTS', KEYS[1]) == 0 and redis.call('PTTL', KEYS[3]) > 0 then
  -- Still provisional (no message yet: an epoch with messages expires
  -- only when the room is idle): it lasts while the room is read.
  redis.call('EXPIRE', KEYS[3], ARGV[4])
end
local epoch = redis.call('GET', KEYS[3])
if fenced then
  -- The key lasts as long as the epoch it fences (a provisional one's).
  local ttl = redis.call('PTTL', KEYS[3])
  if ttl > 0 then
    redis.call('PEXPIRE', KEYS[4], ttl)
  end
end
if ARGV[5] == '1' then
  redis.call('SET', KEYS[3], epoch, 'KEEPTTL')
end
local head = tonumber(redis.call('GET', KEYS[1]) or '0')
local first = head + 1
local oldest = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
if #oldest > 0 then
  first = tonumber(string.match(oldest[1][1], '^(%d+)'))
end
local messages = {}
for i, entry in ipairs(redis.call('XRANGE', KEYS[2], ARGV[2], ARGV[3])) do
  messages[i] = entry[2][2]
end
return {epoch, head, first, messages}
