package sim

import (
	"time"

	"chatlab/system/node"
)

// nodeTickInterval: the node's clock ticks at least this often.
const nodeTickInterval = 100 * time.Millisecond

// NodeHost runs one system/node state machine: it feeds the node its
// inputs and carries out its Ready over the simulated network and Redis,
// as system/server does: broker calls go out concurrently on a command
// link (node_calls.go), subscriptions and messages on a pub/sub link of
// their own (node_link.go).
type NodeHost struct {
	name    string
	host    *host
	cluster *Cluster
	config  node.Config
	node    *node.Node

	conns    map[node.ConnID]*Conn
	connIDs  map[*Conn]node.ConnID
	nextConn node.ConnID

	calls brokerCalls
	link  subscriptionLink
	// slots is the node's slot map on a Redis Cluster: each shard's master
	// as last loaded (node_cluster.go).
	slots []*RedisHost
	// slotOwners are the slots the node's map has off their shard's range
	// (moved by resharding): slot to shard.
	slotOwners     map[int]int
	slotsReloading bool
	// movedFollowed counts calls answered MOVED and sent on;
	// slotsUnsubscribed the cluster's own SUNSUBSCRIBEs of held rooms.
	movedFollowed, slotsUnsubscribed int
	// gapFills counts live messages that made the node fetch history: its
	// gap-fill path, which runs only when pub/sub loses messages.
	gapFills int
}

func newNodeHost(cluster *Cluster, config node.Config) *NodeHost {
	h := &NodeHost{name: config.ID, host: newHost(config.ID), cluster: cluster, config: config}
	h.boot()
	return h
}

// Name is the node's ID.
func (h *NodeHost) Name() string { return h.name }

// Node is the running state machine (nil while crashed).
func (h *NodeHost) Node() *node.Node { return h.node }

// boot starts a fresh process: a new state machine with nothing in memory,
// its own randomness, and a dial to Redis.
func (h *NodeHost) boot() {
	random := h.cluster.world.NewRandom()
	config := h.config
	config.Random = random.Uint64
	h.node = node.New(config)
	h.conns = map[node.ConnID]*Conn{}
	h.connIDs = map[*Conn]node.ConnID{}
	h.calls = newBrokerCalls()
	h.link = subscriptionLink{}
	h.advance()
	if rc := h.redisCluster(); rc != nil {
		h.loadSlots()
		h.slotsReloading = false
		h.calls.servers = make([]serverConn, len(rc.servers))
		h.calls.sent = map[node.RequestID]*sentCall{}
	} else {
		h.dialCommands()
	}
	h.dialLink()
	h.scheduleTick()
}

func (h *NodeHost) scheduleTick() {
	h.cluster.world.on(h.host, nodeTickInterval, "node-tick", 0, func() {
		h.advance()
		h.expireCalls()
		h.flush()
		h.scheduleTick()
	})
}

// advance brings the node's clock to virtual now before an input.
func (h *NodeHost) advance() {
	nowMs := h.cluster.world.now.Milliseconds()
	if nowMs > h.node.NowMs() {
		h.node.Tick(nowMs)
	}
}

func (h *NodeHost) endpointHost() *host { return h.host }

// accept takes a client connection (directly or through the balancer).
func (h *NodeHost) accept(c *Conn) {
	h.cluster.network.Accept(c, h)
	h.nextConn++
	id := h.nextConn
	h.conns[id] = c
	h.connIDs[c] = id
	h.advance()
	h.node.Open(id, c.User)
	h.flush()
}

func (h *NodeHost) connected(c *Conn) {
	switch c {
	case h.calls.conn:
		h.calls.open = true
	case h.link.conn:
		h.linkConnected()
	default:
		if h.redisCluster() == nil {
			return
		}
		if i := h.serverOf(c); i >= 0 {
			h.serverConnected(i)
		} else if shard := h.linkShardOf(c); shard != nil {
			h.clusterLinkConnected(shard)
		}
	}
}

func (h *NodeHost) receive(c *Conn, payload any) {
	h.advance()
	switch {
	case c == h.calls.conn:
		h.callAnswered(payload.(redisAnswer))
	case c == h.link.conn:
		h.linkReceive(payload)
	default:
		if id, ok := h.connIDs[c]; ok {
			h.node.Receive(id, payload.([]byte))
		} else if h.redisCluster() != nil {
			if answer, ok := payload.(redisAnswer); ok {
				h.clusterAnswered(answer)
			} else if shard := h.linkShardOf(c); shard != nil {
				h.clusterLinkReceive(shard, payload)
			}
		}
	}
	h.flush()
}

func (h *NodeHost) closed(c *Conn, _ int) {
	h.advance()
	switch {
	case c == h.calls.conn:
		h.commandsLost()
	case c == h.link.conn:
		h.linkLost()
	default:
		if id, ok := h.connIDs[c]; ok {
			delete(h.conns, id)
			delete(h.connIDs, c)
			h.node.Closed(id)
		} else if h.redisCluster() != nil {
			if i := h.serverOf(c); i >= 0 {
				h.serverLost(i)
			} else if h.linkShardOf(c) != nil {
				h.clusterLinkLost()
			}
		}
	}
	h.flush()
}

func (h *NodeHost) flushed(c *Conn, count int) {
	if id, ok := h.connIDs[c]; ok {
		h.advance()
		h.node.Flushed(id, count)
		h.flush()
	}
}

// flush carries out everything the node asked for.
func (h *NodeHost) flush() {
	network := h.cluster.network
	ready := h.node.Ready()
	for _, frame := range ready.Frames {
		if c := h.conns[frame.Conn]; c != nil {
			network.Write(c, h.host, frame.Data, len(frame.Data), digest(frame.Data))
		}
	}
	for _, close := range ready.Closes {
		if c := h.conns[close.Conn]; c != nil {
			network.Close(c, h.host, close.Code)
			delete(h.conns, close.Conn)
			delete(h.connIDs, c)
		}
	}
	for _, room := range ready.Unsubscribes {
		h.unsubscribe(room)
	}
	for _, room := range ready.Subscribes {
		h.subscribe(room)
	}
	for _, publish := range ready.Publishes {
		h.publish(publish)
	}
	for _, fetch := range ready.Fetches {
		h.fetch(fetch)
	}
	h.cluster.recordLatencies(ready.LatenciesMs)
	h.node.Advance(ready)
}

// Crash kills the process: every connection resets and all state is lost.
func (h *NodeHost) Crash() {
	if !h.host.up {
		return
	}
	h.cluster.world.crash(h.host)
	h.cluster.network.CrashHost(h.host)
	h.node = nil
}

// Restart boots a crashed node as a new process.
func (h *NodeHost) Restart() {
	if h.host.up {
		return
	}
	h.cluster.world.start(h.host)
	h.boot()
}

// Drain asks the node to close every connection with CloseReconnect and
// refuse new ones.
func (h *NodeHost) Drain() {
	if h.node == nil {
		return
	}
	h.advance()
	h.node.Drain()
	h.flush()
}
