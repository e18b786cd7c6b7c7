package sim

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"chatlab/system/broker/redisscript"
)

// Defaults of the simulated Redis Cluster, after the lab's real one
// (system/broker/clustertest: 3 masters, a replica each,
// cluster-node-timeout 1000 ms).
const (
	redisShardsDefault = 3
	// replicationLagDefault: each replication batch leaves the master a
	// seeded time in [0, lag] after its write, in order.
	replicationLagDefault = 2 * time.Millisecond
	// nodeTimeoutDefault is cluster-node-timeout: how long a master must
	// be unreachable before it is failed.
	nodeTimeoutDefault = time.Second
	// electionDelayMin and electionDelaySpread: a replica of a failed
	// master starts its election 500 ms plus a random 0 to 500 ms later, as
	// Redis's replicas do (cluster.c, clusterHandleReplicaFailover).
	electionDelayMin    = 500 * time.Millisecond
	electionDelaySpread = 500 * time.Millisecond
	// failoverRecheckInterval paces the checks of a failed master whose
	// replica cannot take over yet (frozen or down).
	failoverRecheckInterval = 100 * time.Millisecond
	// replicaRedialInterval: a replica that lost its master dials it again
	// this often (Redis's replication cron runs every second).
	replicaRedialInterval = time.Second
)

// RedisClusterSpec shapes a simulated Redis Cluster: shards, each a master
// with one replica, the slots spread over the shards as redis-cli
// --cluster create spreads them.
type RedisClusterSpec struct {
	// Shards is how many masters (default 3).
	Shards int
	// ReplicationLag: each batch of writes (a script's, a command's) leaves
	// the master for its replica a seeded time in [0, ReplicationLag]
	// after it ran, batches in order (default 2 ms). Replication is
	// asynchronous: the master answers first.
	ReplicationLag time.Duration
	// NodeTimeout is how long a master is down before its replica's
	// election starts (then 500 to 1000 ms more; default 1 s).
	NodeTimeout time.Duration
	// ReplicasAck is the broker's --redis-replicas-ack: a publish or fetch
	// waits (WAIT) for that many replicas before it answers.
	ReplicasAck int
	// ReplicasAckTimeout bounds each WAIT (the broker's default 1 s).
	ReplicasAckTimeout time.Duration
	// EpochFence is the broker's --redis-epoch-fence.
	EpochFence bool
}

func (s RedisClusterSpec) withDefaults() RedisClusterSpec {
	if s.Shards <= 0 {
		s.Shards = redisShardsDefault
	}
	if s.ReplicationLag == 0 {
		s.ReplicationLag = replicationLagDefault
	}
	if s.NodeTimeout <= 0 {
		s.NodeTimeout = nodeTimeoutDefault
	}
	if s.ReplicasAckTimeout <= 0 {
		s.ReplicasAckTimeout = time.Second
	}
	return s
}

// redisCluster is the cluster's shared state: its servers, who is master
// of each shard (every server and client that asks agrees at once: gossip
// is not modelled) and the failure detector.
type redisCluster struct {
	spec    RedisClusterSpec
	world   *World
	network *Network
	random  *rand.Rand
	// servers: the masters as created (shard order), then their replicas.
	servers []*RedisHost
	// masters is each shard's master now.
	masters []*RedisHost
	// lastSlots is each shard's last slot: shard i owns (lastSlots[i-1],
	// lastSlots[i]].
	lastSlots []int
	// moved are the slots resharding moved off the shard of their range:
	// slot to the shard that owns it now.
	moved map[int]int
	// checking marks the shards with a failure check scheduled.
	checking []bool
	// Promotions counts the failovers, reshards the slots moved.
	promotions, reshards int
}

// RedisServerName names server i (from 0) of a Redis Cluster: redis1 to
// redisN are the first masters, redisN+1 to redis2N their replicas.
func RedisServerName(i int) string { return RedisName + strconv.Itoa(i+1) }

func newRedisCluster(world *World, network *Network, spec RedisClusterSpec, serving RedisSpec) *redisCluster {
	spec = spec.withDefaults()
	rc := &redisCluster{spec: spec, world: world, network: network, random: world.NewRandom(),
		checking: make([]bool, spec.Shards), moved: map[int]int{}}
	rc.lastSlots = slotRanges(spec.Shards)
	for i := range 2 * spec.Shards {
		store := NewRedis(world.Now)
		store.replid = rc.newReplid()
		server := NewRedisHost(RedisServerName(i), network, store, serving)
		server.cluster, server.index, server.shard = rc, i, i%spec.Shards
		rc.servers = append(rc.servers, server)
	}
	rc.masters = slices.Clone(rc.servers[:spec.Shards])
	for _, master := range rc.masters {
		master.store.recording = true
	}
	for _, replica := range rc.servers[spec.Shards:] {
		replica.store.replid = rc.masters[replica.shard].store.replid
		replica.dialUpstream()
	}
	return rc
}

// slotRanges spreads the slots over shards as redis-cli --cluster create
// does: shard i's last slot is round((i+1)·16384/shards) - 1, the last
// shard's 16383.
func slotRanges(shards int) []int {
	last := make([]int, shards)
	per := float64(redisscript.SlotCount) / float64(shards)
	cursor := 0.0
	for i := range last {
		end := int(cursor + per - 1 + 0.5) // lround of a positive number
		if i == shards-1 || end > redisscript.SlotCount-1 {
			end = redisscript.SlotCount - 1
		}
		last[i] = end
		cursor += per
	}
	return last
}

// shardOf is the shard that owns key's slot.
func (rc *redisCluster) shardOf(key string) int {
	return slotShard(redisscript.Slot(key), rc.lastSlots, rc.moved)
}

// slotShard is the shard that owns slot, by the slot ranges and the slots
// moved off them.
func slotShard(slot int, lastSlots []int, moved map[int]int) int {
	if shard, ok := moved[slot]; ok {
		return shard
	}
	shard, _ := slices.BinarySearch(lastSlots, slot)
	return shard
}

// roomShard is the shard of every key of room.
func (rc *redisCluster) roomShard(room string) int { return rc.shardOf(redisscript.KeysOf(room).Seq) }

// replicaOf is the server of shard that is not its master.
func (rc *redisCluster) replicaOf(shard int) *RedisHost {
	for _, s := range []*RedisHost{rc.servers[shard], rc.servers[shard+rc.spec.Shards]} {
		if s != rc.masters[shard] {
			return s
		}
	}
	panic("sim: a shard's two servers are one")
}

// newReplid is a fresh replication history's name: 40 hex digits.
func (rc *redisCluster) newReplid() string {
	const digits = "0123456789abcdef"
	id := make([]byte, 40)
	for i := range id {
		id[i] = digits[rc.random.IntN(16)]
	}
	return string(id)
}

// masterDown starts the failure detection of a master that went down.
func (rc *redisCluster) masterDown(shard int) {
	if rc.checking[shard] {
		return
	}
	rc.checking[shard] = true
	delay := rc.spec.NodeTimeout + electionDelayMin + time.Duration(rc.random.Int64N(int64(electionDelaySpread)+1))
	rc.world.After(delay, "redis-failover-check", RedisServerName(rc.masters[shard].index), uint64(shard), func() {
		rc.checkFailover(shard)
	})
}

// checkFailover promotes the replica of a master still down, once the
// replica can run its election (up, not frozen).
func (rc *redisCluster) checkFailover(shard int) {
	master := rc.masters[shard]
	if master.host.up && !master.isolated {
		rc.checking[shard] = false
		return // back before anyone failed it
	}
	replica := rc.replicaOf(shard)
	if !replica.host.up || replica.host.paused || replica.isolated {
		rc.world.After(failoverRecheckInterval, "redis-failover-check", RedisServerName(master.index), uint64(shard), func() {
			rc.checkFailover(shard)
		})
		return
	}
	rc.checking[shard] = false
	rc.promotions++
	rc.masters[shard] = replica
	replica.promote(rc.newReplid())
}

// RedisServers are a Redis Cluster's servers (nil on one Redis): the first
// masters, then their replicas.
func (c *Cluster) RedisServers() []*RedisHost {
	if c.redisCluster == nil {
		return nil
	}
	return c.redisCluster.servers
}

// RedisShardOf names the master and the replica of the shard that owns
// room's slot now ("" on one Redis).
func (c *Cluster) RedisShardOf(room string) (master, replica string) {
	rc := c.redisCluster
	if rc == nil {
		return "", ""
	}
	shard := rc.roomShard(room)
	return rc.masters[shard].host.name, rc.replicaOf(shard).host.name
}

// RedisPromotions is how many replicas a Redis Cluster promoted.
func (c *Cluster) RedisPromotions() int {
	if c.redisCluster == nil {
		return 0
	}
	return c.redisCluster.promotions
}

// RedisReshards is how many slots a Redis Cluster moved.
func (c *Cluster) RedisReshards() int {
	if c.redisCluster == nil {
		return 0
	}
	return c.redisCluster.reshards
}

// redisServer is the Redis Cluster server named name, or nil.
func (c *Cluster) redisServer(name string) *RedisHost {
	for _, s := range c.RedisServers() {
		if s.host.name == name {
			return s
		}
	}
	return nil
}

// What a Redis Cluster's servers send each other to replicate, and how a
// server refuses a subscription to a channel of a slot it does not serve.
type (
	// replSync: a replica asks its master for everything (PSYNC answered
	// with a full resynchronization).
	replSync struct{}
	// replSnapshot is the master's data as of offset, a copy.
	replSnapshot struct {
		offset uint64
		data   *Redis
	}
	// replBatch is one script's or command's writes, the offset-th.
	replBatch struct {
		offset  uint64
		effects []redisEffect
	}
	// replAck: the replica has applied everything up to offset.
	replAck struct{ offset uint64 }
	// redisSubscribeRefused: MOVED, the channel's slot is served elsewhere.
	redisSubscribeRefused struct{ channel string }
	// redisWaitCall is WAIT numreplicas timeout.
	redisWaitCall struct {
		replicas int
		timeout  time.Duration
	}
)

// replicaConn is a master's view of one replica's connection.
type replicaConn struct {
	conn  *Conn
	acked uint64
}

// pendingWait is a WAIT not answered yet.
type pendingWait struct {
	conn    *Conn
	call    redisCall
	arrived uint64
	target  uint64
	done    bool
}

// clusterServer is what a Redis Cluster server keeps besides a plain
// Redis's.
type clusterServer struct {
	cluster *redisCluster
	index   int // in cluster.servers
	shard   int
	// A master's side: its replicas' connections, its replication offset
	// (batches sent), when its last batch leaves, WAITs pending.
	replicas []*replicaConn
	offset   uint64
	sendAt   time.Duration
	waits    []*pendingWait
	// A replica's side: its connection to the master and how far it
	// applied.
	upstream *Conn
	applied  uint64
	// isolated: a partition cuts the server off from the rest of the
	// cluster since isolatedAt (redis-shard-partition). Once that is
	// longer than the node timeout it holds the cluster down (it cannot
	// reach a majority of masters) and refuses every keyed command.
	isolated   bool
	isolatedAt time.Duration
}

// errClusterDown is what a server that lost the majority answers a keyed
// command with.
const errClusterDown = RedisError("CLUSTERDOWN The cluster is down")

// clusterDown says whether the server holds the cluster down: cut off
// from the majority for longer than the node timeout.
func (r *RedisHost) clusterDown() bool {
	return r.isolated && r.network.world.now-r.isolatedAt >= r.cluster.spec.NodeTimeout
}

// redisSlotUnsubscribed is the SUNSUBSCRIBE a server sends on its own to
// each subscriber of a shard channel whose slot it no longer serves.
type redisSlotUnsubscribed struct{ channel string }

// dropLostChannels unsubscribes every subscriber of the shard channels
// whose slot this server no longer serves, telling each, as Redis does
// when a slot leaves a node (a resharding, a master turned replica).
func (r *RedisHost) dropLostChannels() {
	channels := make([]string, 0, len(r.subscribers))
	for channel := range r.subscribers { // map order: sorted below
		if r.movedFor(channel) != nil {
			channels = append(channels, channel)
		}
	}
	slices.Sort(channels)
	for _, channel := range channels {
		for _, c := range slices.Clone(r.subscribers[channel]) {
			r.unsubscribe(c, channel)
			r.write(c, redisSlotUnsubscribed{channel: channel}, redisOverheadBytes+len(channel), digest([]byte(channel)))
		}
	}
}

// rejoin ends a server's isolation. A master replaced meanwhile learns it
// from the cluster's newer configuration: it gives up its slots (their
// subscribers are unsubscribed), drops its replicas and replicates the new
// master, whose full copy replaces whatever it took alone.
func (r *RedisHost) rejoin() {
	r.isolated = false
	if r.isMaster() || r.upstream != nil || !r.host.up {
		return
	}
	r.dropLostChannels()
	for _, replica := range slices.Clone(r.replicas) {
		if replica.conn.Open() {
			r.network.Reset(replica.conn)
		}
	}
	r.replicas = nil
	r.store.recording = false
	r.store.takeEffects()
	r.sendAt = 0
	r.dialUpstream()
}

func (r *RedisHost) isMaster() bool { return r.cluster.masters[r.shard] == r }

// movedFor is the MOVED error of a call of key to a server that does not
// serve its slot, or nil.
func (r *RedisHost) movedFor(key string) error {
	shard := r.cluster.shardOf(key)
	master := r.cluster.masters[shard]
	if master == r {
		return nil
	}
	return RedisError("MOVED " + strconv.Itoa(redisscript.Slot(key)) + " " + master.host.name)
}

// callKey is the key a call's slot is taken from ("" for WAIT).
func (c redisCall) callKey() string {
	switch {
	case c.script != nil && len(c.script.Keys) > 0:
		return c.script.Keys[0]
	case len(c.command) > 1:
		return c.command[1]
	}
	return ""
}

// replicate sends the writes of one call to every replica, after the
// seeded lag, in order.
func (r *RedisHost) replicate(effects []redisEffect) {
	r.offset++
	if len(r.replicas) == 0 {
		return
	}
	world := r.network.world
	lag := r.cluster.spec.ReplicationLag
	at := world.now
	if lag > 0 {
		at += time.Duration(r.random.Int64N(int64(lag) + 1))
	}
	r.sendAt = max(r.sendAt, at)
	batch := replBatch{offset: r.offset, effects: effects}
	size := redisOverheadBytes
	for _, e := range effects {
		size += len(e.key) + len(e.text) + 16
		for _, f := range e.entry.fields {
			size += len(f)
		}
	}
	for _, replica := range slices.Clone(r.replicas) {
		conn := replica.conn
		world.on(r.host, r.sendAt-world.now, "repl-batch", batch.offset, func() {
			r.write(conn, batch, size, batch.offset)
		})
	}
}

// replicationReceive handles what a master's replica or a replica's
// master sent.
func (r *RedisHost) replicationReceive(c *Conn, payload any) bool {
	switch message := payload.(type) {
	case replSync:
		if !r.isMaster() {
			r.network.Close(c, r.host, CloseAbnormal)
			return true
		}
		r.replicas = append(r.replicas, &replicaConn{conn: c})
		snapshot := NewRedis(r.network.world.Now)
		snapshot.copyFrom(r.store)
		r.write(c, replSnapshot{offset: r.offset, data: snapshot}, redisOverheadBytes+64*len(snapshot.keys), r.offset)
	case replSnapshot:
		if c != r.upstream {
			return true
		}
		r.store.copyFrom(message.data)
		r.applied = message.offset
		r.write(c, replAck{offset: r.applied}, redisOverheadBytes, r.applied)
	case replBatch:
		if c != r.upstream {
			return true
		}
		for _, e := range message.effects {
			r.store.apply(e)
		}
		r.applied = message.offset
		r.write(c, replAck{offset: r.applied}, redisOverheadBytes, r.applied)
	case replAck:
		for _, replica := range r.replicas {
			if replica.conn == c {
				replica.acked = max(replica.acked, message.offset)
			}
		}
		r.answerWaits()
	default:
		return false
	}
	return true
}

// dialUpstream connects a replica to its shard's master.
func (r *RedisHost) dialUpstream() {
	r.upstream = r.network.Dial(r, r.cluster.masters[r.shard], "")
}

// upstreamLost: the replica's link to its master is gone; it dials again
// later, while it is a replica.
func (r *RedisHost) upstreamLost() {
	r.upstream = nil
	r.network.world.on(r.host, replicaRedialInterval, "repl-redial", uint64(r.index), func() {
		if r.upstream == nil && !r.isMaster() {
			r.dialUpstream()
		}
	})
}

// promote makes a replica its shard's master, under a new replication
// history: it holds what it had applied, nothing more.
func (r *RedisHost) promote(replid string) {
	if r.upstream != nil {
		r.network.Close(r.upstream, r.host, CloseAbnormal)
		r.upstream = nil
	}
	r.store.replid = replid
	r.store.recording = true
	r.offset = r.applied
	r.sendAt = 0
}

// wait runs WAIT: answered at once when enough replicas have every write
// so far, else when they do or at the timeout, with how many have.
func (r *RedisHost) wait(c *Conn, call redisCall, arrived uint64) {
	w := &pendingWait{conn: c, call: call, arrived: arrived, target: r.offset}
	if r.acked(w.target) >= call.wait.replicas {
		r.answerWait(w)
		return
	}
	r.waits = append(r.waits, w)
	r.network.world.on(r.host, call.wait.timeout, "redis-wait-timeout", call.digest(), func() {
		if !w.done {
			r.answerWait(w)
			r.waits = slices.DeleteFunc(r.waits, func(p *pendingWait) bool { return p == w })
		}
	})
}

// acked is how many replicas have applied offset.
func (r *RedisHost) acked(offset uint64) int {
	count := 0
	for _, replica := range r.replicas {
		if replica.acked >= offset {
			count++
		}
	}
	return count
}

// answerWaits answers the WAITs now satisfied.
func (r *RedisHost) answerWaits() {
	r.waits = slices.DeleteFunc(r.waits, func(w *pendingWait) bool {
		if r.acked(w.target) < w.call.wait.replicas {
			return false
		}
		r.answerWait(w)
		return true
	})
}

func (r *RedisHost) answerWait(w *pendingWait) {
	w.done = true
	r.answer(w.conn, w.call, w.arrived, int64(r.acked(w.target)), nil)
}
