-- Accept one send, atomically (recover mode).
-- KEYS: 1 seq, 2 log (stream), 3 epoch, 4 dedupe key of (from, id),
--       5 (with epoch fencing) the room's replication history
-- ARGV: 1 epoch candidate, 2 history length max, 3 dedupe TTL in seconds,
--       4 channel, 5 the message JSON without seq and epoch, and without
--       its opening brace (the script prepends them), 6 the body's digest,
--       7 seconds an idle room's keys last (0: for ever), 8 the command that
--       publishes: PUBLISH, or SPUBLISH on Redis Cluster (whose shard channel
--       carries the room's hash tag, so it stays in the keys' slot), or ''
--       when the caller publishes once replicas have the write (WAIT),
--       9 '1' for epoch fencing
-- Returns {seq, epoch, duplicate (0, 1, or 2: the id came with another body)},
-- and, when ARGV[8] is '', the message to publish ('' if a retry's is gone).
if ARGV[9] == '1' then
  fence(KEYS[5], KEYS[1], KEYS[2], KEYS[3])
end
local seen = redis.call('GET', KEYS[4])
if seen then
  -- A retry of a send that was already applied: answer as the first time,
  -- unless it carries another body (seen is seq:digest:epoch; an older
  -- seq:epoch, without a digest, cannot tell).
  local colon = string.find(seen, ':', 1, true)
  local seq, rest = tonumber(string.sub(seen, 1, colon - 1)), string.sub(seen, colon + 1)
  local second = string.find(rest, ':', 1, true)
  if second then
    local digest = string.sub(rest, 1, second - 1)
    rest = string.sub(rest, second + 1)
    if digest ~= ARGV[6] then
      return {seq, rest, 2}
    end
  end
  if ARGV[8] == '' then
    -- The caller waits for replicas, then publishes: make this a write, so
    -- that its WAIT covers the first attempt's write too, and hand back
    -- the message, which that attempt may never have published.
    -- (The dedupe key's expiry set again as it stands: the window is kept.)
    local ttl = redis.call('PTTL', KEYS[4])
    if ttl > 0 then
      redis.call('PEXPIRE', KEYS[4], ttl)
    end
    local entry = redis.call('XRANGE', KEYS[2], seq .. '-0', seq .. '-0')
    local held = ''
    if #entry > 0 then
      held = entry[1][2][2]
    end
    return {seq, rest, 1, held}
  end
  return {seq, rest, 1}
end
if redis.call('SET', KEYS[3], ARGV[1], 'NX') then
  -- A new epoch starts an empty history: whatever survived of the old one
  -- (a partial loss) must not collide with seqs that restart at 1.
  redis.call('DEL', KEYS[1], KEYS[2])
end
local epoch = redis.call('GET', KEYS[3])
if redis.call('PTTL', KEYS[3]) >= 0 then
  -- A provisional epoch (a fetch named it) now names a history: keep it.
  redis.call('SET', KEYS[3], epoch)
end
local seq = redis.call('INCR', KEYS[1])
-- Lua prints a number with %.14g: exact for every seq below 10^14.
local message = '{"seq":' .. seq .. ',"epoch":' .. cjson.encode(epoch) .. ',' .. ARGV[5]
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], seq .. '-0', 'msg', message)
redis.call('SET', KEYS[4], seq .. ':' .. ARGV[6] .. ':' .. epoch, 'EX', ARGV[3])
if tonumber(ARGV[7]) > 0 then
  -- A room nobody writes to for that long is forgotten, history and all;
  -- a client that comes back later is told (a new epoch).
  redis.call('EXPIRE', KEYS[1], ARGV[7])
  redis.call('EXPIRE', KEYS[2], ARGV[7])
  redis.call('EXPIRE', KEYS[3], ARGV[7])
  if ARGV[9] == '1' then
    redis.call('EXPIRE', KEYS[5], ARGV[7])
  end
end
if ARGV[8] == '' then
  return {seq, epoch, 0, message}
end
redis.call(ARGV[8], ARGV[4], message)
return {seq, epoch, 0}
