package sim

import (
	"time"

	"chatlab/system/balance"
	"chatlab/system/protocol"
)

// Timings of the balancer host.
const (
	// balancerTickInterval: the balancer's clock ticks this often (health
	// checks, buckets, sheds).
	balancerTickInterval = 100 * time.Millisecond
	// healthTimeout: a health check without an answer by then failed.
	healthTimeout = time.Second
	// closeTryAgainLater is WebSocket's 1013, sent when no backend can
	// take a connection.
	closeTryAgainLater = 1013
)

// BalancerHost runs the system/balance state machine as a proxy: a client
// dials it, it picks a node and forwards the connection there, so that one
// simulated connection runs client↔balancer↔node. A crash of the balancer
// resets every connection through it.
type BalancerHost struct {
	host    *host
	cluster *Cluster
	config  balance.Config
	// balancer is nil while crashed.
	balancer *balance.Balancer
	conns    map[balance.ConnID]*Conn
	connIDs  map[*Conn]balance.ConnID
	picks    map[balance.ConnID]int
	nextConn balance.ConnID
}

// picksPerConnectionMax: the first pick and one retry after a failed dial
// (balance.Pick's contract).
const picksPerConnectionMax = 2

func newBalancerHost(cluster *Cluster, name string, config balance.Config) *BalancerHost {
	h := &BalancerHost{host: newHost(name), cluster: cluster, config: config}
	h.boot()
	return h
}

func (h *BalancerHost) boot() {
	balancer, err := balance.New(h.config)
	if err != nil {
		panic("sim: balancer config: " + err.Error())
	}
	h.balancer = balancer
	h.conns = map[balance.ConnID]*Conn{}
	h.connIDs = map[*Conn]balance.ConnID{}
	h.picks = map[balance.ConnID]int{}
	h.advance()
	h.flush()
	h.scheduleTick()
}

// Balancer is the running state machine (nil while crashed).
func (h *BalancerHost) Balancer() *balance.Balancer { return h.balancer }

func (h *BalancerHost) endpointHost() *host { return h.host }

func (h *BalancerHost) advance() { h.balancer.Tick(h.cluster.world.now.Milliseconds()) }

func (h *BalancerHost) scheduleTick() {
	h.cluster.world.on(h.host, balancerTickInterval, "balancer-tick", 0, func() {
		h.advance()
		h.flush()
		h.scheduleTick()
	})
}

// accept picks a backend for a new client connection and forwards it.
func (h *BalancerHost) accept(c *Conn) {
	h.advance()
	if c.Source != "" {
		if admitted, _ := h.balancer.AdmitSource(c.Source); !admitted {
			h.cluster.network.Refuse(c, closeTryAgainLater)
			return
		}
	}
	h.nextConn++
	id := h.nextConn
	h.conns[id] = c
	h.connIDs[c] = id
	h.pick(c, id)
	h.flush()
}

func (h *BalancerHost) pick(c *Conn, id balance.ConnID) {
	h.picks[id]++
	backend, ok, _ := h.balancer.Pick(id, c.User)
	if !ok {
		h.balancer.Closed(id) // a retry's conn is still known; a first pick's is not
		h.forget(c, id)
		h.cluster.network.Refuse(c, closeTryAgainLater)
		return
	}
	h.cluster.network.Forward(c, h, h.cluster.nodeByName[backend])
}

func (h *BalancerHost) forget(c *Conn, id balance.ConnID) {
	delete(h.conns, id)
	delete(h.connIDs, c)
	delete(h.picks, id)
}

func (h *BalancerHost) relayOpened(c *Conn) {
	if id, ok := h.connIDs[c]; ok {
		h.advance()
		h.balancer.Opened(id)
		h.flush()
	}
}

// relayFailed: the picked node could not be reached. The balancer marks it
// down and gets one more pick for the same connection.
func (h *BalancerHost) relayFailed(c *Conn) {
	id, ok := h.connIDs[c]
	if !ok {
		return
	}
	h.advance()
	h.balancer.DialFailed(id)
	if h.picks[id] < picksPerConnectionMax {
		h.pick(c, id)
	} else {
		h.balancer.Closed(id)
		h.forget(c, id)
		h.cluster.network.Refuse(c, closeTryAgainLater)
	}
	h.flush()
}

func (h *BalancerHost) relayEnded(c *Conn) {
	if id, ok := h.connIDs[c]; ok {
		h.forget(c, id)
		h.advance()
		h.balancer.Closed(id)
		h.flush()
	}
}

// flush carries out the balancer's Ready: health checks and sheds.
func (h *BalancerHost) flush() {
	ready := h.balancer.Ready()
	for _, name := range ready.HealthChecks {
		h.check(name)
	}
	for _, shed := range ready.Sheds {
		if c := h.conns[shed.Conn]; c != nil {
			h.forget(c, shed.Conn)
			h.cluster.network.Terminate(c, h.host, protocol.CloseReconnect)
		}
	}
	h.cluster.recordTransitions(ready.Transitions)
	h.cluster.recordDecisions(ready.Decisions)
}

// check probes a node's health endpoint: it answers after a round trip
// when the node is reachable, running and not draining; otherwise the
// probe times out. A node whose broker link is down answers unready, as
// the real node's /readyz does, so that the balancer has taken it out of
// rotation by the time it moves its clients (Config.BrokerLostGraceMs).
func (h *BalancerHost) check(name string) {
	target := h.cluster.nodeByName[name]
	network := h.cluster.network
	healthy := target.host.up && !target.host.paused && !network.isBlocked(h.host, target.host) &&
		!network.isBlocked(target.host, h.host)
	delay := healthTimeout
	if healthy {
		delay = network.link(h.host, target.host).sample(network.random) + network.link(target.host, h.host).sample(network.random)
		healthy = !target.node.Draining() && target.node.BrokerIsUp()
	}
	h.cluster.world.on(h.host, delay, "health", digest([]byte(name)), func() {
		h.advance()
		h.balancer.HealthResult(name, healthy)
		h.flush()
	})
}

// Crash kills the balancer: every connection through it resets.
func (h *BalancerHost) Crash() {
	if !h.host.up {
		return
	}
	h.cluster.world.crash(h.host)
	h.cluster.network.CrashHost(h.host)
	h.balancer = nil
	// The crashed process's connection table is gone with it: relays that
	// end afterwards are no business of the next process.
	clear(h.conns)
	clear(h.connIDs)
	clear(h.picks)
}

// Restart boots a crashed balancer with fresh state.
func (h *BalancerHost) Restart() {
	if h.host.up {
		return
	}
	h.cluster.world.start(h.host)
	h.boot()
}

// Drain takes a backend out of rotation (its connections are shed).
func (h *BalancerHost) Drain(name string) {
	if h.balancer == nil {
		return
	}
	h.advance()
	h.balancer.Drain(name)
	h.flush()
}

// Undrain puts a backend back into rotation.
func (h *BalancerHost) Undrain(name string) {
	if h.balancer == nil {
		return
	}
	h.advance()
	h.balancer.Undrain(name)
	h.flush()
}
