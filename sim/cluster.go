package sim

import (
	"fmt"
	"time"

	"chatlab/system/balance"
	"chatlab/system/broker/redisscript"
	"chatlab/system/client"
	"chatlab/system/node"
)

// Host names the cluster gives its infrastructure.
const (
	RedisName    = "redis"
	BalancerName = "balancer"
)

// snapshotIntervalDefault: how often host states are recorded.
const snapshotIntervalDefault = time.Second

// redisCallSpreadDefault spreads Redis calls over about a LAN round trip,
// as calls on different pooled connections are.
const redisCallSpreadDefault = 2 * time.Millisecond

// redisStreamLenMaxDefault is the history kept per room: shorter than
// production's, so that busy runs trim it.
const redisStreamLenMaxDefault = 1024

// Topology is what to build. Zero fields take defaults: three nodes
// (n1..n3) behind a least-connections balancer, recover delivery, ideal
// links.
type Topology struct {
	// Nodes names the nodes.
	Nodes []string
	// Delivery is the cluster's delivery mode.
	Delivery node.Delivery
	// NoBalancer makes clients dial nodes directly, spread by client order.
	NoBalancer bool
	// Balance configures the balancer; Backends are filled in from Nodes.
	Balance balance.Config
	// Node is the template for every node's config; ID, Delivery and
	// Random are filled in.
	Node node.Config
	// Client is the template for every client's config; Name, User and
	// Random are filled in.
	Client client.Config
	// Link is every link's spec unless a fault changes one.
	Link LinkSpec
	// RedisStreamLenMax is the history kept per room (the broker's
	// HistoryLenMax; default 1024, so that runs reach trimming).
	RedisStreamLenMax int
	// RedisDedupeTTL is how long Redis remembers a send's id (the broker's
	// DedupeTTLSeconds, whole seconds; default as in production).
	RedisDedupeTTL time.Duration
	// RedisPersistence is what a Redis restart keeps by default.
	RedisPersistence bool
	// Redis is how Redis serves its clients: calls in any order, pub/sub
	// connections that break.
	Redis RedisSpec
	// RedisCluster, when set, replaces the one Redis with a Redis Cluster
	// (redis_cluster.go): shards of a master and a replica, each server
	// served as Redis is.
	RedisCluster *RedisClusterSpec
	// PongWait is how long a connection whose path is cut lives before it
	// is reset, as a real node's pong wait (default 5 s).
	PongWait time.Duration
	// SnapshotInterval is how often host states are recorded (default 1 s;
	// negative: never).
	SnapshotInterval time.Duration
	// KeepTrace keeps one line per processed event (memory!) besides the
	// hash.
	KeepTrace bool
}

func (t Topology) withDefaults() Topology {
	if len(t.Nodes) == 0 {
		t.Nodes = []string{"n1", "n2", "n3"}
	}
	if t.Delivery == "" {
		t.Delivery = node.Recover
	}
	if t.RedisStreamLenMax <= 0 {
		t.RedisStreamLenMax = redisStreamLenMaxDefault
	}
	if t.RedisDedupeTTL < time.Second {
		t.RedisDedupeTTL = redisscript.DedupeTTLSecondsDefault * time.Second
	}
	if t.Redis.CallSpread == 0 {
		t.Redis.CallSpread = redisCallSpreadDefault
	}
	if t.SnapshotInterval == 0 {
		t.SnapshotInterval = snapshotIntervalDefault
	}
	return t
}

// Cluster is a simulated deployment: nodes, an optional balancer, Redis and
// clients on one network in one World. It is the chaos runner's handle:
// schedule workload and faults, run, then read History, Snapshots and
// TraceHash.
type Cluster struct {
	topology Topology
	world    *World
	network  *Network
	store    *Redis
	redis    *RedisHost
	// redisCluster replaces store and redis on a Redis Cluster.
	redisCluster *redisCluster
	balancer     *BalancerHost
	nodes        []*NodeHost
	nodeByName   map[string]*NodeHost
	clients      []*ClientHost
	hosts        map[string]*host

	history []HistoryEvent
	// historyBlocks are the events recorded since History last joined them.
	historyBlocks [][]HistoryEvent
	snapshots     []Snapshot
	latencies     []int64
	transitions   []balance.Transition
	decisions     []balance.Decision
	faults        []FaultRecord
	// sendsRefused counts workload sends the client refused (pending
	// queue full).
	sendsRefused int
	// workloadEnd is when the last scheduled workload stops sending.
	workloadEnd time.Duration
	// lastClientTraffic is the last time a client wrote or read a frame,
	// for RunUntilQuiet.
	lastClientTraffic time.Duration
	// frames decodes each node frame once for all the clients it reaches.
	frames frameCache
}

// NewCluster builds the topology in a new world seeded with seed. Hosts are
// created in a fixed order (network, Redis, nodes in the given order, the
// balancer), so their randomness is the same for the same seed.
func NewCluster(topology Topology, seed uint64) *Cluster {
	topology = topology.withDefaults()
	world := NewWorld(seed)
	world.trace.Keep(topology.KeepTrace)
	c := &Cluster{topology: topology, world: world, nodeByName: map[string]*NodeHost{}, hosts: map[string]*host{}}
	c.network = NewNetwork(world, topology.Link)
	if topology.PongWait > 0 {
		c.network.ConnTimeout = topology.PongWait
	}
	if topology.RedisCluster != nil {
		c.redisCluster = newRedisCluster(world, c.network, *topology.RedisCluster, topology.Redis)
		for _, server := range c.redisCluster.servers {
			c.addHost(server.host)
		}
	} else {
		c.store = NewRedis(world.Now)
		c.redis = NewRedisHost(RedisName, c.network, c.store, topology.Redis)
		c.addHost(c.redis.host)
	}
	for _, name := range topology.Nodes {
		config := topology.Node
		config.ID, config.Delivery = name, topology.Delivery
		h := newNodeHost(c, config)
		c.nodes = append(c.nodes, h)
		c.nodeByName[name] = h
		c.addHost(h.host)
	}
	if !topology.NoBalancer {
		config := topology.Balance
		config.Backends = nil
		for _, name := range topology.Nodes {
			config.Backends = append(config.Backends, balance.Backend{Name: name, Addr: "sim://" + name})
		}
		c.balancer = newBalancerHost(c, BalancerName, config)
		c.addHost(c.balancer.host)
	}
	if topology.SnapshotInterval > 0 {
		c.scheduleSnapshot()
	}
	return c
}

func (c *Cluster) addHost(h *host) {
	if c.hosts[h.name] != nil {
		panic(fmt.Sprintf("sim: two hosts named %q", h.name))
	}
	c.hosts[h.name] = h
}

// World is the event loop (for the clock, the trace and stepping).
func (c *Cluster) World() *World { return c.world }

// Network is the simulated network.
func (c *Cluster) Network() *Network { return c.network }

// Redis is the simulated Redis's data.
func (c *Cluster) Redis() *Redis { return c.store }

// RedisHost is the simulated Redis server.
func (c *Cluster) RedisHost() *RedisHost { return c.redis }

// GapFills counts, over every node, the live messages that made a node
// fetch history: the gap-fill path.
func (c *Cluster) GapFills() int {
	total := 0
	for _, h := range c.nodes {
		total += h.gapFills
	}
	return total
}

// Nodes are the node hosts in topology order.
func (c *Cluster) Nodes() []*NodeHost { return c.nodes }

// Node is a node host by name (nil if none).
func (c *Cluster) Node(name string) *NodeHost { return c.nodeByName[name] }

// Balancer is the balancer host (nil with NoBalancer).
func (c *Cluster) Balancer() *BalancerHost { return c.balancer }

// Clients are the client hosts in creation order.
func (c *Cluster) Clients() []*ClientHost { return c.clients }

// AddClient creates a client that connects at once.
func (c *Cluster) AddClient(name, user string) *ClientHost {
	return c.addClient(name, user, nil)
}

func (c *Cluster) addClient(name, user string, template *client.Config) *ClientHost {
	config := c.topology.Client
	if template != nil {
		config = *template
	}
	config.Name, config.User = name, user
	h := newClientHost(c, config)
	c.clients = append(c.clients, h)
	c.addHost(h.host)
	return h
}

// entry is where clients dial: the balancer, or the nodes in turn.
func (c *Cluster) entry() listener {
	if c.balancer != nil {
		return c.balancer
	}
	h := c.nodes[int(c.network.nextConnID)%len(c.nodes)]
	return h
}

// RunUntil runs the world to virtual time t.
func (c *Cluster) RunUntil(t time.Duration) { c.world.RunUntil(t) }

// quietCheckInterval is how often RunUntilQuiet looks; quietFor is how
// long clients must have been silent.
const (
	quietCheckInterval = 100 * time.Millisecond
	quietFor           = 2 * time.Second
)

// RunUntilQuiet runs until the workload is over, every client is
// connected with nothing unacked, and no client frame moved for quietFor;
// or until virtual time limit. It reports whether it got quiet.
func (c *Cluster) RunUntilQuiet(limit time.Duration) bool {
	for c.world.now < limit {
		c.world.RunUntil(min(c.world.now+quietCheckInterval, limit))
		if c.quiet() {
			return true
		}
	}
	return c.quiet()
}

func (c *Cluster) quiet() bool {
	now := c.world.now
	if now < c.workloadEnd || now-c.lastClientTraffic < quietFor {
		return false
	}
	for _, h := range c.clients {
		snapshot := h.client.Snapshot()
		if !snapshot.Connected || len(snapshot.Pending) > 0 {
			return false
		}
	}
	return true
}

// TraceHash is the hash over every event processed so far.
func (c *Cluster) TraceHash() uint64 { return c.world.trace.Hash() }

// Now is the virtual time.
func (c *Cluster) Now() time.Duration { return c.world.now }

// LatenciesMs are the delivery latencies the nodes reported (accepting
// node's clock to delivering node's clock).
func (c *Cluster) LatenciesMs() []int64 { return c.latencies }

// SendsRefused is how many workload sends the clients refused.
func (c *Cluster) SendsRefused() int { return c.sendsRefused }

// Transitions are the balancer's backend health changes.
func (c *Cluster) Transitions() []balance.Transition { return c.transitions }

func (c *Cluster) recordLatencies(samples []int64) {
	c.latencies = append(c.latencies, samples...)
}

// Decisions are the balancer's decision log, every process of it in turn
// (each begins with a start).
func (c *Cluster) Decisions() []balance.Decision { return c.decisions }

// recordDecisions stamps each decision with virtual time: a restarted
// balancer's clock starts at zero.
func (c *Cluster) recordDecisions(decisions []balance.Decision) {
	for _, d := range decisions {
		d.AtMs = c.world.now.Milliseconds()
		c.decisions = append(c.decisions, d)
	}
}

func (c *Cluster) recordTransitions(transitions []balance.Transition) {
	c.transitions = append(c.transitions, transitions...)
}
