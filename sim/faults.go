package sim

import (
	"fmt"
	"slices"
	"time"

	"chatlab/system/broker/redisscript"
)

// Action is what a fault does.
type Action string

// Fault actions. Target (and Peer) name hosts: a node ("n1"), "balancer",
// "redis" or a client.
const (
	// Crash kills a node, the balancer or Redis: connections reset, state
	// lost (Redis keeps its data when KeepData or the topology's
	// RedisPersistence is set).
	Crash Action = "crash"
	// Restart starts a crashed process again, fresh; on a running one it
	// crashes it first.
	Restart Action = "restart"
	// Pause freezes a process: nothing is processed, input queues up.
	Pause Action = "pause"
	// Resume unfreezes it: what queued up is processed in order.
	Resume Action = "resume"
	// Drain takes a node out of the balancer's rotation and has the node
	// close its connections with CloseReconnect (graceful).
	Drain Action = "drain"
	// Undrain puts a node back into the balancer's rotation.
	Undrain Action = "undrain"
	// Partition cuts Target from Peer (only Target→Peer with OneWay).
	Partition Action = "partition"
	// Heal removes the cut between Target and Peer, or every cut when
	// Target is empty.
	Heal Action = "heal"
	// SetLink changes the link between Target and Peer to Link: latency,
	// jitter, loss, bandwidth.
	SetLink Action = "set-link"
	// StopReading makes a client stop reading its connection (a slow
	// consumer); ResumeReading ends that.
	StopReading   Action = "stop-reading"
	ResumeReading Action = "resume-reading"
	// GoOffline takes a client off the network: its connection resets and
	// its dials fail until GoOnline.
	GoOffline Action = "go-offline"
	GoOnline  Action = "go-online"
	// KillPubSub has Redis close every pub/sub connection (CLIENT KILL
	// TYPE pubsub); Redis and the command connections stay up. Target is
	// "redis".
	KillPubSub Action = "kill-pubsub"
	// RefusePubSub kills every pub/sub connection as KillPubSub does and
	// goes on killing each one that subscribes or pings until
	// AdmitPubSub. Target is "redis".
	RefusePubSub Action = "refuse-pubsub"
	AdmitPubSub  Action = "admit-pubsub"
	// DropPubSub has Redis lose Percent of the pub/sub messages it pushes
	// to the node Target ("redis": to every node) while the connections
	// stay up: nothing tells the node, which learns of a loss only from a
	// later message's seq or a fetch. Percent 0 ends it.
	DropPubSub Action = "drop-pubsub"
	// RedisFailover, on a Redis Cluster, freezes the replica of the master
	// of Target's shard (Target is a room) and cuts it off from its master
	// for Lag, then crashes that master and lets the replica go: the
	// cluster promotes it once it has failed the master.
	RedisFailover Action = "redis-failover"
	// RedisShardPartition, on a Redis Cluster, cuts the master of Target's
	// shard (Target is a room) off from every other server of the cluster
	// and from every node but the first: the rest of the cluster fails it
	// after the node timeout and promotes its replica; cut off from the
	// majority, it refuses commands (CLUSTERDOWN) from the node timeout on.
	// HealRedisShards ends it: the cuts go, and a master replaced meanwhile
	// rejoins as its replica's replica. A Heal of every cut does too.
	RedisShardPartition Action = "redis-shard-partition"
	HealRedisShards     Action = "heal-redis-shards"
	// RedisReshard, on a Redis Cluster, moves the slot of Target (a room)
	// with its keys from its master to the next shard's master at once:
	// the old owner answers MOVED for it and unsubscribes the slot's shard
	// channels (SUNSUBSCRIBE).
	RedisReshard Action = "redis-reshard"
	// RestartRedisServers starts every crashed server of a Redis Cluster
	// again: a master whose replica took over rejoins as a replica.
	RestartRedisServers Action = "restart-redis-servers"
)

// Fault is one fault, as data.
type Fault struct {
	Action   Action   `json:"action"`
	Target   string   `json:"target,omitempty"`
	Peer     string   `json:"peer,omitempty"`
	OneWay   bool     `json:"one_way,omitempty"`
	KeepData bool     `json:"keep_data,omitempty"`
	Link     LinkSpec `json:"link,omitzero"`
	// Lag of a RedisFailover.
	Lag time.Duration `json:"lag,omitempty"`
	// Percent of a DropPubSub.
	Percent float64 `json:"percent,omitempty"`
}

// FaultRecord is a fault as it was applied.
type FaultRecord struct {
	At time.Duration `json:"at"`
	Fault
}

// Faults are the faults applied so far, in order.
func (c *Cluster) Faults() []FaultRecord { return c.faults }

// At schedules fault at virtual time t. It fails at once on a fault that
// names an unknown host or cannot apply to it.
func (c *Cluster) At(t time.Duration, fault Fault) error {
	if err := c.check(fault); err != nil {
		return err
	}
	c.world.At(t, "fault", string(fault.Action)+" "+fault.Target+" "+fault.Peer, 0, func() { c.Apply(fault) })
	return nil
}

func (c *Cluster) check(fault Fault) error {
	known := func(name string) error {
		if c.hosts[name] == nil {
			return fmt.Errorf("sim: fault %s: no host %q", fault.Action, name)
		}
		return nil
	}
	switch fault.Action {
	case Crash, Restart:
		if c.redisServer(fault.Target) != nil || fault.Target == RedisName && c.redisCluster != nil && fault.Action == Restart {
			return nil
		}
		if c.nodeByName[fault.Target] == nil && (fault.Target != RedisName || c.redis == nil) && (fault.Target != BalancerName || c.balancer == nil) {
			return fmt.Errorf("sim: fault %s: %q is not a node, the balancer or redis", fault.Action, fault.Target)
		}
	case Pause, Resume:
		if fault.Target == RedisName && c.redisCluster != nil {
			return nil // every server of the cluster
		}
		return known(fault.Target)
	case RedisFailover, RestartRedisServers, RedisShardPartition, HealRedisShards, RedisReshard:
		if c.redisCluster == nil {
			return fmt.Errorf("sim: fault %s needs a Redis Cluster", fault.Action)
		}
	case Drain, Undrain:
		if c.nodeByName[fault.Target] == nil {
			return fmt.Errorf("sim: fault %s: %q is not a node", fault.Action, fault.Target)
		}
	case Partition, SetLink:
		if err := known(fault.Target); err != nil {
			return err
		}
		return known(fault.Peer)
	case Heal:
		if fault.Target == "" {
			return nil
		}
		if err := known(fault.Target); err != nil {
			return err
		}
		return known(fault.Peer)
	case KillPubSub, RefusePubSub, AdmitPubSub:
		if fault.Target != RedisName || c.redis == nil {
			return fmt.Errorf("sim: fault %s: target %q is not redis", fault.Action, fault.Target)
		}
	case DropPubSub:
		if c.redis == nil {
			return fmt.Errorf("sim: fault %s needs the one Redis", fault.Action)
		}
		if fault.Target != RedisName && c.nodeByName[fault.Target] == nil {
			return fmt.Errorf("sim: fault %s: %q is not a node or redis", fault.Action, fault.Target)
		}
		if fault.Percent < 0 || fault.Percent > 100 {
			return fmt.Errorf("sim: fault %s: percent %g is not within 0 to 100", fault.Action, fault.Percent)
		}
	case StopReading, ResumeReading, GoOffline, GoOnline:
		if c.client(fault.Target) == nil {
			return fmt.Errorf("sim: fault %s: %q is not a client", fault.Action, fault.Target)
		}
	default:
		return fmt.Errorf("sim: unknown fault action %q", fault.Action)
	}
	return nil
}

func (c *Cluster) client(name string) *ClientHost {
	for _, h := range c.clients {
		if h.name == name {
			return h
		}
	}
	return nil
}

// Apply applies a fault now. Faults must pass At's check; Apply panics on
// one that does not (a programmer error).
func (c *Cluster) Apply(fault Fault) {
	if err := c.check(fault); err != nil {
		panic(err.Error())
	}
	c.faults = append(c.faults, FaultRecord{At: c.world.now, Fault: fault})
	switch fault.Action {
	case Crash:
		c.crash(fault)
	case Restart:
		c.crash(fault)
		c.restart(fault.Target)
	case Pause:
		for _, h := range c.hostsOf(fault.Target) {
			c.world.pause(h)
		}
	case Resume:
		for _, h := range c.hostsOf(fault.Target) {
			c.world.resume(h)
		}
	case RedisFailover:
		c.redisFailover(fault.Target, fault.Lag)
	case RestartRedisServers:
		c.restart(RedisName)
	case RedisShardPartition:
		c.redisShardPartition(fault.Target)
	case HealRedisShards:
		c.healRedisShards()
	case RedisReshard:
		c.redisReshard(fault.Target)
	case Drain:
		if c.balancer != nil {
			c.balancer.Drain(fault.Target)
		}
		c.nodeByName[fault.Target].Drain()
	case Undrain:
		if c.balancer != nil {
			c.balancer.Undrain(fault.Target)
		}
	case Partition:
		c.network.Partition(c.hosts[fault.Target], c.hosts[fault.Peer], fault.OneWay)
	case Heal:
		if fault.Target == "" {
			c.network.HealAll()
			c.healRedisShards()
		} else {
			c.network.Heal(c.hosts[fault.Target], c.hosts[fault.Peer])
		}
	case SetLink:
		c.network.SetLink(c.hosts[fault.Target], c.hosts[fault.Peer], fault.Link)
	case StopReading:
		c.client(fault.Target).SetReading(false)
	case ResumeReading:
		c.client(fault.Target).SetReading(true)
	case GoOffline:
		c.client(fault.Target).SetOffline(true)
	case GoOnline:
		c.client(fault.Target).SetOffline(false)
	case KillPubSub:
		c.redis.KillPubSub()
	case RefusePubSub:
		c.redis.refusingPubSub = true
		c.redis.KillPubSub()
	case AdmitPubSub:
		c.redis.refusingPubSub = false
	case DropPubSub:
		c.redis.dropPushes(fault.Target, fault.Percent)
	}
}

func (c *Cluster) crash(fault Fault) {
	if server := c.redisServer(fault.Target); server != nil {
		server.Crash(c.world, true)
		return
	}
	switch fault.Target {
	case RedisName:
		c.redis.Crash(c.world, fault.KeepData || c.topology.RedisPersistence)
	case BalancerName:
		c.balancer.Crash()
	default:
		c.nodeByName[fault.Target].Crash()
	}
}

func (c *Cluster) restart(name string) {
	if server := c.redisServer(name); server != nil {
		server.Start(c.world)
		return
	}
	switch {
	case name == RedisName && c.redisCluster != nil:
		for _, server := range c.redisCluster.servers {
			if !server.host.up {
				server.Start(c.world)
			}
		}
		return
	}
	switch name {
	case RedisName:
		c.redis.Start(c.world)
	case BalancerName:
		c.balancer.Restart()
	default:
		c.nodeByName[name].Restart()
	}
}

// hostsOf is the host a fault names: on a Redis Cluster, "redis" names
// every server.
func (c *Cluster) hostsOf(name string) []*host {
	if name == RedisName && c.redisCluster != nil {
		hosts := make([]*host, len(c.redisCluster.servers))
		for i, server := range c.redisCluster.servers {
			hosts[i] = server.host
		}
		return hosts
	}
	return []*host{c.hosts[name]}
}

// redisFailover freezes the replica of room's shard and cuts it off from
// its master, then, lag later, crashes the master and lets the replica go.
// The master's writes of those lag are its alone.
func (c *Cluster) redisFailover(room string, lag time.Duration) {
	rc := c.redisCluster
	shard := rc.roomShard(room)
	master, replica := rc.masters[shard], rc.replicaOf(shard)
	c.world.pause(replica.host)
	// A frozen replica's socket would still take in what the master
	// sends: the master drops the connection, as CLIENT KILL TYPE replica.
	for _, r := range slices.Clone(master.replicas) {
		c.network.Reset(r.conn)
	}
	master.replicas = nil
	c.world.After(lag, "redis-failover-kill", master.host.name, uint64(shard), func() {
		master.Crash(c.world, true)
		c.world.resume(replica.host)
	})
}

// redisShardPartition cuts the master of room's shard off from the other
// servers and from every node but the first, and starts the failure
// detection of the rest of the cluster.
func (c *Cluster) redisShardPartition(room string) {
	rc := c.redisCluster
	shard := rc.roomShard(room)
	master := rc.masters[shard]
	if master.isolated {
		return
	}
	for _, peer := range c.shardPartitionPeers(master) {
		c.network.Partition(master.host, peer, false)
	}
	master.isolated, master.isolatedAt = true, c.world.now
	rc.masterDown(shard)
}

// shardPartitionPeers are the hosts a shard partition cuts server off
// from: every other server, every node but the first.
func (c *Cluster) shardPartitionPeers(server *RedisHost) []*host {
	var peers []*host
	for _, s := range c.redisCluster.servers {
		if s != server {
			peers = append(peers, s.host)
		}
	}
	for _, n := range c.nodes[min(1, len(c.nodes)):] {
		peers = append(peers, n.host)
	}
	return peers
}

// healRedisShards ends every shard partition.
func (c *Cluster) healRedisShards() {
	if c.redisCluster == nil {
		return
	}
	for _, server := range c.redisCluster.servers {
		if !server.isolated {
			continue
		}
		for _, peer := range c.shardPartitionPeers(server) {
			c.network.Heal(server.host, peer)
		}
		server.rejoin()
	}
}

// redisReshard moves room's slot to the next shard's master.
func (c *Cluster) redisReshard(room string) {
	rc := c.redisCluster
	key := redisscript.KeysOf(room).Seq
	slot := redisscript.Slot(key)
	from := rc.shardOf(key)
	to := (from + 1) % rc.spec.Shards
	source, destination := rc.masters[from], rc.masters[to]
	source.store.migrateSlot(slot, destination.store)
	rc.moved[slot] = to
	rc.reshards++
	for _, server := range []*RedisHost{destination, source} {
		if effects := server.store.takeEffects(); len(effects) > 0 {
			server.replicate(effects)
		}
	}
	source.dropLostChannels()
}
