// Package scenarios holds the lab's scenario files (scenarios/*.yaml,
// embedded in the binary) and their strict parser. A scenario is data: the
// topology to build, the workload to drive, the faults to inject and when,
// and the properties that must hold (or must be seen to break). The chaos
// runner turns it into a run on any target; README.md documents the file
// format.
package scenarios

import (
	"slices"
	"time"

	"chatlab/system/balance"
	"chatlab/system/node"
)

// Scenario is one parsed scenario file. Defaults are filled in: every
// field the runner reads has its final value.
type Scenario struct {
	Name        string
	Description string
	Topology    Topology
	Workload    Workload
	// Faults in time order (the parser refuses a file that lists them out
	// of order).
	Faults []Fault
	Expect Expectations
	// File is where the scenario came from: "scenarios/NAME.yaml" for an
	// embedded one, the path given to LoadFile otherwise.
	File string
}

// Topology is what to build.
type Topology struct {
	// Nodes names the nodes, n1..nN when the file gives a count.
	Nodes    []string
	Policy   balance.Policy
	Delivery node.Delivery
	// RedisPersistence is what Redis keeps across a restart unless the
	// fault says otherwise.
	RedisPersistence Persistence
	// RecentLenMax is how many of each room's last messages a node keeps
	// in memory for resuming clients (node.Config.RecentLenMax).
	RecentLenMax int
	// HistoryLenMax is how many messages each room's Redis stream retains
	// (broker.RedisConfig.HistoryLenMax): a client that resumes further
	// back than that is justly told with a reset. Both are the production
	// defaults unless the file sets them, on every target.
	HistoryLenMax int
	// PongWait, DrainTimeout and WriteTimeout are the nodes' long timers
	// (--pong-wait, --drain-timeout, --write-timeout; drain and write the
	// balancer's too), set low so that a run reaches them. Zero keeps each
	// target's default.
	PongWait     time.Duration
	DrainTimeout time.Duration
	WriteTimeout time.Duration
	// BalancerWriteWait is the balancer's --write-wait when it should not
	// be WriteTimeout (zero: it is), so that a run can have the node's
	// write timeout give up first (a longer wait) or the balancer's (a
	// shorter one) when a client stops reading: each path is reached only
	// when its side gives up first.
	BalancerWriteWait time.Duration
	// PubSubBreakEvery is the mean time between breaks of each node's
	// pub/sub connection to Redis (0: none but the faults'). Pub/sub is
	// fire and forget: what is published while a subscriber's connection
	// is broken is gone for it, so nodes must notice and fill the gap from
	// history. The simulator models it; the real targets' pub/sub links
	// break only under the scenario's faults.
	PubSubBreakEvery time.Duration
	// RoomPollInterval is how often each room with members asks Redis for
	// anything the node missed (the nodes' --room-poll-interval,
	// node.Config.RoomPollIntervalMs; zero keeps the default, 2 s). The
	// poll is a safety net that also hides a node deaf to a room for up to
	// one interval; set it longer than the run so that only the broker
	// link's own catch-ups fill what pub/sub lost.
	RoomPollInterval time.Duration `json:",omitempty"`
	// PubSubBuffer is how many pub/sub events a node's broker link holds
	// for the node before it drops one and owes the node a catch-up (the
	// nodes' --pubsub-buffer, broker.RedisConfig.EventsLenMax; zero keeps
	// the default, 1024). Real targets only: set small, a burst overflows
	// it. The simulator has no such buffer and ignores it.
	PubSubBuffer int `json:",omitempty"`
	// Redis is RedisSingle (one Redis, the default) or RedisCluster: a
	// Redis Cluster of 3 masters with a replica each, the nodes on
	// --redis-cluster. Only the local target runs a cluster.
	Redis RedisTopology `json:",omitempty"`
	// RedisReplicasAck is how many replicas must have a publish's write
	// before the node acks it (--redis-replicas-ack; 0: none, Redis's
	// asynchronous replication). Redis Cluster only.
	RedisReplicasAck int `json:",omitempty"`
	// RedisEpochFence: a room first used after a failover starts a new
	// epoch (--redis-epoch-fence). Redis Cluster only.
	RedisEpochFence bool `json:",omitempty"`
}

// RedisTopology is the shape of the system's Redis.
type RedisTopology string

// Redis topologies.
const (
	RedisSingle  RedisTopology = "single"
	RedisCluster RedisTopology = "cluster"
)

// Persistence is what Redis writes to disk.
type Persistence string

// Persistence modes.
const (
	// PersistenceNone: a restarted Redis comes back empty, so rooms get a
	// new epoch and clients are told with a reset.
	PersistenceNone Persistence = "none"
	// PersistenceAOF: a restarted Redis comes back with its data.
	PersistenceAOF Persistence = "aof"
)

// Rate is events per second (the file writes it as "2/s" or "30/min").
type Rate float64

// Workload is the clients and their traffic. Every rate is per client.
type Workload struct {
	Clients int
	// Rooms in use; each client joins some of them.
	Rooms int
	// SendRatePerClient is each client's mean send rate.
	SendRatePerClient Rate
	// MessageBytes is each message body's size.
	MessageBytes int
	// Duration is how long clients send; faults happen within it.
	Duration time.Duration
	// JoinLeave is how often each client leaves one of its rooms and joins
	// it again (resuming with since): 0 for never.
	JoinLeave Rate
	// Reconnects is how often each client drops its connection and
	// reconnects on its own: 0 for never.
	Reconnects Rate
	// SendBurst is how many sends each client makes at a time, written
	// back to back so that that many are in flight together (1: one at a
	// time); SendRatePerClient still counts single sends.
	SendBurst int
	// Listeners are clients besides Clients that join rooms as the others
	// do and never send, leave or drop their connection: members that only
	// keepalive keeps connected.
	Listeners int
}

// Action is what a fault does.
type Action string

// Fault actions. Target names what they act on: a node, "redis",
// "balancer" or a link between two of those ("n1-redis", "balancer-n2").
const (
	// Kill stops a node hard (kill -9). With a Duration it is started again
	// that long after; without, it stays down until a restart.
	Kill Action = "kill"
	// Restart stops a node hard and starts it again after Duration (0: at
	// once). On a killed node it just starts it.
	Restart Action = "restart"
	// Pause freezes a node, Redis or the balancer (SIGSTOP): connections
	// stay open, nothing is processed. Duration, or a later resume, ends it.
	Pause Action = "pause"
	// Resume ends a pause.
	Resume Action = "resume"
	// Drain takes a node out of the balancer's rotation and has it close its
	// connections with CloseReconnect. With a Duration it is put back that
	// long after.
	Drain Action = "drain"
	// Partition cuts a link (Direction says which way). Duration, or a
	// later heal, ends it.
	Partition Action = "partition"
	// Heal ends a partition of the target link, or every partition when
	// the target is omitted.
	Heal Action = "heal"
	// RedisRestart restarts Redis; Persist says whether it keeps its data.
	// Duration is how long it stays down.
	RedisRestart Action = "redis-restart"
	// Delay adds Latency (± Jitter) to a link, for Duration or to the end.
	Delay Action = "delay"
	// Loss drops Percent of the packets on a link, for Duration or to the
	// end.
	Loss Action = "loss"
	// Flood adds Clients clients that send as fast as FloodSendRate allows,
	// through the target (the balancer unless a node is named), for
	// Duration or to the end.
	Flood Action = "flood"
	// SlowConsumer makes Clients of the workload's clients stop reading
	// their connections, for Duration or to the end.
	SlowConsumer Action = "slow-consumer"
	// BalancerRestart restarts the balancer; every proxied connection
	// drops. Duration is how long it stays down.
	BalancerRestart Action = "balancer-restart"
	// Away takes the workload's last Clients clients off the network for
	// Duration, as a phone that loses its signal: their connections drop,
	// their dials fail, and their sends wait. Back online, they reconnect
	// and resume every room with since.
	Away Action = "away"
	// JoinFlood adds Clients connections, each its own user, through the
	// target (the balancer unless a node is named), that leave a room and
	// join another as fast as Rate allows (frames per second, each
	// connection), for Duration or to the end. A connection the node closes
	// comes back shortly after and goes on.
	JoinFlood Action = "join-flood"
	// ConnFlood is one user from one address of its own opening connections
	// through the target at Rate per second until Clients are open, each
	// one it loses opened again, for Duration or to the end.
	ConnFlood Action = "conn-flood"
	// UpgradeAborts sends Rate bursts a second of Clients WebSocket upgrade
	// requests with a garbage credential to the balancer, from an address of
	// their own, each socket reset right after its request, for Duration or
	// to the end.
	UpgradeAborts Action = "upgrade-aborts"
	// RedisFailover, on Redis Cluster, freezes the replica of the master
	// that owns Room's slot for Lag, then kills that master (kill -9) and
	// lets the replica go: the cluster promotes it. Duration later the old
	// master starts again and rejoins as a replica.
	RedisFailover Action = "redis-failover"
	// RedisShardPartition, on Redis Cluster, cuts the master that owns
	// Room's slot off from its replica, from every other server of the
	// cluster and from every node but the first (n1), for Duration: the
	// majority fails it and promotes its replica, while n1 still reaches
	// the old master. Healed, the old master learns it was replaced and
	// rejoins as a replica.
	RedisShardPartition Action = "redis-shard-partition"
	// RedisReshard, on Redis Cluster, moves Room's slot, with its keys,
	// from its master to the next shard's master under traffic: the old
	// owner answers MOVED for it from then on and unsubscribes its shard
	// channels' subscribers (SUNSUBSCRIBE), who must subscribe again on the
	// new owner and catch up.
	RedisReshard Action = "redis-reshard"
	// Garbage adds Clients connections through the target that send frames
	// that are not JSON at Rate per second each, for Duration or to the
	// end. A connection the node closes comes back shortly after.
	Garbage Action = "garbage"
	// PubSubKill closes every node's pub/sub connection at Redis (CLIENT
	// KILL TYPE pubsub) while Redis and the nodes' command connections
	// stay up: each node's broker link must notice, subscribe every room
	// again on a new connection and catch up on what was published
	// meanwhile. Without a Duration it is over at once; with one, Redis
	// goes on closing each pub/sub connection as soon as it is opened
	// until the Duration ends, so the links stay down that long.
	PubSubKill Action = "pubsub-kill"
	// PubSubDrop loses Percent of the pub/sub messages Redis pushes to the
	// target node (every node when the target is redis or left out), for
	// Duration or to the end, while the pub/sub connection stays up: the
	// push is gone and nothing tells the node, as when a message is
	// published between a connection breaking and its link noticing. Only
	// a later message's seq (the node's gap fill), a duplicate reply or the
	// room poll shows the node what it missed.
	PubSubDrop Action = "pubsub-drop"
)

// NeedsRedisCluster reports whether the action acts on a Redis Cluster
// (topology redis: cluster) only.
func (a Action) NeedsRedisCluster() bool {
	return a == RedisFailover || a == RedisShardPartition || a == RedisReshard
}

// Abuse reports whether the action is a client abusing the system (a send
// flood included): the well-behaved clients must not feel it (the no-harm
// property).
func (a Action) Abuse() bool {
	switch a {
	case Flood, JoinFlood, ConnFlood, UpgradeAborts, Garbage:
		return true
	}
	return false
}

// Direction is which way a partition cuts a link "a-b".
type Direction string

// Partition directions.
const (
	Both Direction = "both"
	// To cuts traffic from a to b only.
	To Direction = "to"
	// From cuts traffic from b to a only.
	From Direction = "from"
)

// Fault is one entry of the fault timeline.
type Fault struct {
	// At is when the fault starts, from the start of the workload.
	At     time.Duration
	Action Action
	// Target as written: a node name, "redis", "balancer", a link "a-b",
	// or "" where the action allows none.
	Target string
	// Link is the target's two ends, in the order written, when the target
	// is a link.
	Link [2]string
	// Direction of a partition (default both; empty for other actions).
	Direction Direction
	// Persist: a redis-restart keeps the data (default: the topology's
	// RedisPersistence).
	Persist bool
	// Latency and Jitter of a delay.
	Latency time.Duration
	Jitter  time.Duration
	// Percent of packets a loss drops, in (0, 100].
	Percent float64
	// Clients in a flood or an abuse (connections, or upgrade requests per
	// burst), turned into slow consumers, or gone away.
	Clients int
	// FloodSendRate is each flooding client's send rate.
	FloodSendRate Rate
	// Rate of an abuse: frames per second per connection (join-flood,
	// garbage), new connections per second (conn-flood), bursts per second
	// (upgrade-aborts).
	Rate Rate
	// Room is the room (from 1, as room-1) whose shard a redis-failover
	// or redis-shard-partition strikes, or whose slot a redis-reshard
	// moves.
	Room int
	// Lag of a redis-failover: how long the shard's replica is frozen
	// before its master is killed, so that the master acks writes its
	// replica never gets.
	Lag time.Duration
	// Duration of the fault's window: 0 when the fault has none (a later
	// fault ends it, or it lasts to the end).
	Duration time.Duration
}

// End is when the fault's window closes: At+Duration, or At for a fault
// without a window.
func (f Fault) End() time.Duration { return f.At + f.Duration }

// Property is a checked property of a run.
type Property string

// Properties (docs/DESIGN.md "Delivery: what must survive").
const (
	// NoLoss: no acked message is lost for a client that stayed in the room.
	NoLoss Property = "no-loss"
	// NoDuplicates: no message is delivered twice to a client.
	NoDuplicates Property = "no-duplicates"
	// Order: every client sees a room's messages in the same order.
	Order Property = "order"
	// Resumed: a client that reconnects gets every message it missed, or a
	// reset that says they are gone.
	Resumed Property = "resume"
	// Linearizable: each room's log is linearizable (porcupine).
	Linearizable Property = "linearizable"
	// Liveness: after the faults end, every client converges (connected,
	// nothing unacked) within ConvergeWithin.
	Liveness Property = "liveness"
	// ClientDedupe: every frame a client discarded as a duplicate was one
	// it had already passed to the application.
	ClientDedupe Property = "client-dedupe"
	// Acks: every acked send reaches every client that was a member
	// throughout, as the acked seq (by id in pubsub delivery).
	Acks Property = "acks"
	// Resets: every reset is explained by lost history (an epoch change)
	// or by the stream's retention.
	Resets Property = "resets"
	// Welcome: every connection is welcomed before anything else.
	Welcome Property = "welcome"
	// Integrity: every message a client receives is the one its id's
	// sender sent: its room, body and sender. Every scenario holds it
	// (Always) unless it lists it under break.
	Integrity Property = "integrity"
	// CloseCodes: every close a client sees carries the code its cause
	// requires (a slow consumer or a drain 4000, a dead node 1006 or 4000).
	CloseCodes Property = "close-codes"
	// Balanced: no new connection goes to a backend the balancer had
	// marked down or draining.
	Balanced Property = "balancer"
	// CutOff: a client that stops reading is cut off with 4000 within
	// CutOffWithin of reading again, and resumes with nothing lost.
	CutOff Property = "cut-off"
	// Recovered: after each fault heals, delivery latency is back within
	// its bound within RecoverWithin.
	Recovered Property = "recovery"
	// DeliveryLag: away from faults, a receiver settled in a room gets
	// each message within DeliveryLagMaxMs of its appearance (its ack or
	// its first delivery to anyone).
	DeliveryLag Property = "delivery-lag"
	// NoHarm: while a client abuses the system (a flood, a join or
	// connection flood, aborted upgrades, garbage), the well-behaved
	// clients' sends are acked and delivered within their latency bound,
	// their connections are not refused, and no healthy node is marked down.
	NoHarm Property = "no-harm"
	// NoLeak: after the workload ends and the clients leave, every node's
	// and the balancer's goroutines, heap and open file descriptors come
	// back near what the process started with. Real targets only.
	NoLeak Property = "no-leak"
	// RateLimited: no connection had more sends accepted than the nodes'
	// send allowance admits (sends at once, and a refill a second).
	RateLimited Property = "rate-limit"
	// NoGhosts: once every client has gone (each closing its socket
	// without a close frame), every node holds no session within a few
	// seconds: nothing keeps a session whose client is gone.
	NoGhosts Property = "no-ghosts"
	// JoinLive: a member gets every message after its joined head live,
	// within DeliveryLagMaxMs of the message's appearance (or the joined):
	// a node that read the head before its subscribe was in place leaves
	// its members waiting for the room's next message.
	JoinLive Property = "join-live"
)

// Properties lists every property, in the order reports show them.
var Properties = []Property{NoLoss, NoDuplicates, Order, Resumed, Linearizable, Liveness, ClientDedupe, Acks, Resets, Welcome, Integrity, CloseCodes, Balanced, CutOff, Recovered, DeliveryLag, NoHarm, NoLeak, RateLimited, NoGhosts, JoinLive}

// Always are the properties every scenario holds without listing them:
// invariants no fault excuses. A scenario may still list one under break.
var Always = []Property{Integrity}

// Expects reports whether the scenario holds or breaks property p.
func (s *Scenario) Expects(p Property) bool {
	return slices.Contains(s.Expect.Hold, p) || slices.Contains(s.Expect.Break, p)
}

// ProcessProperty is the first property of the scenario's expectations
// that is judged on the processes themselves (NoLeak: goroutines, heap,
// file descriptors), which only the real targets have; "" when none.
func (s *Scenario) ProcessProperty() Property {
	for _, p := range append(append([]Property(nil), s.Expect.Hold...), s.Expect.Break...) {
		if p == NoLeak {
			return p
		}
	}
	return ""
}

// Expectations are what the run must show.
type Expectations struct {
	// Hold: properties that must hold.
	Hold []Property
	// Break: properties that must be seen to fail (the naive pubsub mode
	// must be caught losing messages).
	Break []Property
	// LatencyP99MaxMs bounds the p99 delivery latency; 0 for no bound.
	LatencyP99MaxMs int64
	// ConvergeWithin is how long after the last fault's window the cluster
	// has to settle (liveness); 0 for the runner's default.
	ConvergeWithin time.Duration
	// RecoverWithin is how long after a fault heals delivery latency may
	// stay above its bound (the recovery property; 0 for the default, 5 s).
	// The bound is RecoveryLatencyMaxMs.
	RecoverWithin time.Duration
	// RecoveryLatencyMaxMs bounds the p99 latency after a recovery; 0 for
	// LatencyP99MaxMs, or 1 s without one.
	RecoveryLatencyMaxMs int64
	// CutOffWithin is how long after a stalled client reads again it may
	// take to see its cut-off (the cut-off property; 0 for the default, 10 s).
	CutOffWithin time.Duration
	// DeliveryLagMaxMs bounds a settled receiver's lag behind a message's
	// appearance (the delivery-lag property); 0 for the default, 1 s.
	DeliveryLagMaxMs int64
	// HarmLatencyMaxMs bounds the p99 delivery latency of the well-behaved
	// clients' sends while an abuse runs (the no-harm property); 0 for
	// LatencyP99MaxMs, or 1 s without one.
	HarmLatencyMaxMs int64
}
