-- Epoch fencing, shared by the publish and fetch scripts (prepended to
-- both). replidKey names the replication history (master_replid) the room
-- was last written or read under. Another one means a failover since, which
-- may have lost writes whose seqs would be handed out again: the room's
-- seq, stream and epoch go, so that it starts a new epoch and its clients
-- are told. Returns whether the key was (re)written.
local function fence(replidKey, seqKey, logKey, epochKey)
  local replid = string.match(redis.call('INFO', 'replication'), 'master_replid:(%w+)')
  local owner = redis.call('GET', replidKey)
  if owner == replid then
    return false
  end
  if owner then
    redis.call('DEL', seqKey, logKey, epochKey)
  end
  redis.call('SET', replidKey, replid)
  return true
end
