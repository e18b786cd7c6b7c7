package sim

import (
	"math/rand/v2"
	"time"
)

// Timeouts of the simulated transport.
const (
	// connTimeout: a connection whose path stays partitioned this long is
	// reset, as WebSocket ping/pong or TCP keepalive would notice (the
	// default of Network.ConnTimeout).
	connTimeout = 5 * time.Second
	// dialTimeout: a dial across a partition fails after this long.
	dialTimeout = 3 * time.Second
)

type hostPair struct{ from, to *host }

// Network connects hosts. Links default to one LinkSpec and can be set per
// pair; partitions block one direction or both between any two hosts.
type Network struct {
	world    *World
	random   *rand.Rand
	standard LinkSpec
	links    map[hostPair]LinkSpec
	// blocked holds the directed partitions, each with the generation it
	// was set in, so a timeout can tell whether it is still the same cut.
	blocked    map[hostPair]uint64
	generation uint64
	conns      map[uint64]*Conn
	nextConnID uint64
	// ConnTimeout is how long a connection across a cut lives: the real
	// nodes' pong wait (default connTimeout).
	ConnTimeout time.Duration
}

// NewNetwork returns a network whose links are all standard.
func NewNetwork(world *World, standard LinkSpec) *Network {
	return &Network{world: world, random: world.NewRandom(), standard: standard,
		links: map[hostPair]LinkSpec{}, blocked: map[hostPair]uint64{}, conns: map[uint64]*Conn{}, ConnTimeout: connTimeout}
}

// SetLink sets the link between a and b, both directions.
func (n *Network) SetLink(a, b *host, spec LinkSpec) {
	n.links[hostPair{a, b}] = spec
	n.links[hostPair{b, a}] = spec
	n.pumpAll() // a faster link may carry what waited
}

func (n *Network) link(from, to *host) LinkSpec {
	if spec, ok := n.links[hostPair{from, to}]; ok {
		return spec
	}
	return n.standard
}

// Partition cuts traffic from a to b and, unless oneWay, from b to a.
// Connections across the cut stall and are reset after connTimeout;
// dials across it fail.
func (n *Network) Partition(a, b *host, oneWay bool) {
	n.generation++
	n.blocked[hostPair{a, b}] = n.generation
	if !oneWay {
		n.blocked[hostPair{b, a}] = n.generation
	}
	generation := n.generation
	for _, c := range n.sortedConns() {
		if !n.stalled(c) {
			continue
		}
		conn := c
		n.world.After(n.ConnTimeout, "conn-timeout", "", conn.ID, func() {
			if conn.state != closed && n.stalledSince(conn, generation) {
				n.reset(conn, nil, 0)
			}
		})
	}
}

// Heal removes the cuts between a and b in both directions.
func (n *Network) Heal(a, b *host) {
	delete(n.blocked, hostPair{a, b})
	delete(n.blocked, hostPair{b, a})
	n.pumpAll()
}

// HealAll removes every cut.
func (n *Network) HealAll() {
	clear(n.blocked)
	n.pumpAll()
}

func (n *Network) isBlocked(from, to *host) bool {
	_, ok := n.blocked[hostPair{from, to}]
	return ok
}

// hops returns the path in the direction that pipe side travels.
func (c *Conn) hop(side, i int) (from, to *host) {
	if side == 0 {
		return c.path[i], c.path[i+1]
	}
	last := len(c.path) - 1
	return c.path[last-i], c.path[last-i-1]
}

func (n *Network) pathBlocked(c *Conn, side int) bool {
	for i := 0; i+1 < len(c.path); i++ {
		if n.isBlocked(c.hop(side, i)) {
			return true
		}
	}
	return false
}

func (n *Network) stalled(c *Conn) bool {
	return n.pathBlocked(c, 0) || n.pathBlocked(c, 1)
}

// stalledSince reports whether a cut set in generation (or earlier) still
// blocks the connection: a heal and a new cut in between restart the wait.
func (n *Network) stalledSince(c *Conn, generation uint64) bool {
	for side := 0; side < 2; side++ {
		for i := 0; i+1 < len(c.path); i++ {
			from, to := c.hop(side, i)
			if g, ok := n.blocked[hostPair{from, to}]; ok && g <= generation {
				return true
			}
		}
	}
	return false
}

// delay draws the one-way delay of one packet along the path, and the
// time the packet occupies the slowest link.
func (n *Network) delay(c *Conn, side, size int) (latency, transmit time.Duration) {
	for i := 0; i+1 < len(c.path); i++ {
		spec := n.link(c.hop(side, i))
		latency += spec.sample(n.random)
		transmit = max(transmit, spec.transmitTime(size))
	}
	return latency, transmit
}

func (n *Network) sortedConns() []*Conn {
	conns := make([]*Conn, 0, len(n.conns))
	for _, c := range n.conns { // map order: sorted by ID below
		conns = append(conns, c)
	}
	sortConns(conns)
	return conns
}

func compare(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (n *Network) pumpAll() {
	for _, c := range n.sortedConns() {
		n.pump(c, 0)
		n.pump(c, 1)
	}
}

// Dial opens a connection from the dialer's endpoint to a listener. The
// dialer hears connected or closed (a failed dial) later.
func (n *Network) Dial(dialer endpoint, target listener, user string) *Conn {
	n.nextConnID++
	c := &Conn{ID: n.nextConnID, User: user, path: []*host{dialer.endpointHost()}, state: dialing}
	c.ends[0] = dialer
	n.conns[c.ID] = c
	n.forward(c, target)
	return c
}

// Forward extends a dialing connection from the proxy r that accepted it
// to the next listener (the balancer to a node).
func (n *Network) Forward(c *Conn, r relay, target listener) {
	if c.state != dialing {
		return
	}
	c.relay = r
	if c.path[len(c.path)-1] != r.endpointHost() {
		c.path = c.path[:len(c.path)-1] // a retry: the failed backend leaves the path
	}
	n.forward(c, target)
}

func (n *Network) forward(c *Conn, target listener) {
	from := c.path[len(c.path)-1]
	to := target.endpointHost()
	c.path = append(c.path, to)
	c.target = target
	if n.isBlocked(from, to) || n.isBlocked(to, from) {
		n.world.After(dialTimeout, "dial-timeout", to.name, c.ID, func() { n.dialFailed(c, target) })
		return
	}
	latency := n.link(from, to).sample(n.random)
	n.world.After(latency, "syn", to.name, c.ID, func() {
		if c.state != dialing {
			return
		}
		if !to.up {
			n.dialFailed(c, target) // nothing listens: the SYN is answered with a reset
			return
		}
		n.world.on(to, 0, "accept", c.ID, func() {
			if c.state == dialing && c.target == target {
				target.accept(c)
			}
		})
	})
}

// dialFailed ends a dial to target: a proxy on the path hears of it and
// may try another backend; without one the dialer hears closed.
func (n *Network) dialFailed(c *Conn, target listener) {
	if c.state != dialing || c.target != target {
		return
	}
	if c.relay == nil {
		n.fail(c, CloseAbnormal)
		return
	}
	r := c.relay
	n.world.on(r.endpointHost(), 0, "relay-failed", c.ID, func() {
		if c.state == dialing {
			r.relayFailed(c)
		}
	})
}

// Accept completes the dial: e becomes the acceptor's endpoint. The dialer
// hears connected when the handshake's answer arrives, before any data the
// acceptor writes.
func (n *Network) Accept(c *Conn, e endpoint) {
	if c.state != dialing {
		return
	}
	c.ends[1] = e
	c.target = nil
	c.state = open
	if c.relay != nil {
		r := c.relay
		n.world.on(r.endpointHost(), 0, "relay-opened", c.ID, func() { r.relayOpened(c) })
	}
	n.write(c, 1, packet{kind: packetOpen, size: 1})
}

// end marks the connection over and tells the proxy on its path.
func (n *Network) end(c *Conn) {
	c.state = closed
	delete(n.conns, c.ID)
	if c.relay != nil {
		r := c.relay
		n.world.on(r.endpointHost(), 0, "relay-ended", c.ID, func() { r.relayEnded(c) })
	}
}

// Refuse fails the dial with a close code, told to the dialer after the
// path's latency.
func (n *Network) Refuse(c *Conn, code int) {
	if c.state != dialing {
		return
	}
	if c.relay != nil && c.path[len(c.path)-1] != c.relay.endpointHost() {
		c.path = c.path[:len(c.path)-1] // the backend that failed is not on the way back
	}
	latency := time.Duration(0)
	for i := 0; i+1 < len(c.path); i++ {
		latency += n.link(c.hop(1, i)).sample(n.random)
	}
	n.world.After(latency, "refused", c.path[0].name, c.ID, func() { n.fail(c, code) })
}

func (n *Network) fail(c *Conn, code int) {
	if c.state != dialing {
		return
	}
	n.end(c)
	dialer := c.ends[0]
	n.world.on(dialer.endpointHost(), 0, "dial-failed", c.ID, func() { dialer.closed(c, code) })
}

// Write sends one message from h's end of the connection. size is its
// size on the wire.
func (n *Network) Write(c *Conn, from *host, payload any, size int, digest uint64) {
	side := c.side(from)
	if c.state == closed || c.pipes[side].closing || c.pipes[side].readerGone {
		return
	}
	n.write(c, side, packet{kind: packetData, payload: payload, size: size, digest: digest})
}

// Close closes h's end gracefully: the close travels after everything
// written before it, and the peer hears closed(code) when it arrives.
// Nothing more reaches h on this connection.
func (n *Network) Close(c *Conn, from *host, code int) {
	if c.state == dialing {
		n.end(c)
		return
	}
	side := c.side(from)
	if c.state == closed || c.pipes[side].closing {
		return
	}
	if c.pipes[side].readerGone {
		// The peer closed first and its close is on the way: both ends
		// are done with the connection.
		n.end(c)
		return
	}
	n.write(c, side, packet{kind: packetClose, size: 1, code: code})
	c.pipes[side].closing = true
	// The closer stops reading: what is on its way to it is dropped.
	incoming := &c.pipes[1-side]
	incoming.readerGone = true
	incoming.queue, incoming.queueBytes, incoming.unread = nil, 0, nil
}

func (n *Network) write(c *Conn, side int, p packet) {
	pipe := &c.pipes[side]
	pipe.queue = append(pipe.queue, p)
	pipe.queueBytes += p.size
	if pipe.queueBytesMax > 0 && pipe.queueBytes > pipe.queueBytesMax {
		n.reset(c, nil, 0)
		return
	}
	n.pump(c, side)
}

// SetOutputLimit makes the connection reset when what h has written and
// not yet sent exceeds bytes (0: no limit).
func (n *Network) SetOutputLimit(c *Conn, from *host, bytes int) {
	c.pipes[c.side(from)].queueBytesMax = bytes
}

// pump puts queued packets of one direction on the wire, as far as the
// window and the partitions allow, and schedules their arrival. Arrivals
// keep the write order, as TCP does.
func (n *Network) pump(c *Conn, side int) {
	pipe := &c.pipes[side]
	if c.state == closed || len(pipe.queue) == 0 || n.pathBlocked(c, side) {
		return
	}
	now := n.world.now
	sent, dataSent := 0, 0
	var lastEnd time.Duration
	for sent < len(pipe.queue) {
		p := pipe.queue[sent]
		if pipe.windowBytes > 0 && pipe.windowBytes+p.size > windowBytesMax {
			break
		}
		latency, transmit := n.delay(c, side, p.size)
		start := max(now, pipe.busyUntil)
		end := start + transmit
		pipe.busyUntil = end
		arrival := max(end+latency, pipe.lastArrival)
		pipe.lastArrival = arrival
		pipe.windowBytes += p.size
		pipe.queueBytes -= p.size
		n.scheduleArrival(c, side, p, arrival)
		if p.kind == packetData {
			dataSent++
			lastEnd = end
		}
		sent++
	}
	pipe.queue = pipe.queue[sent:]
	if len(pipe.queue) == 0 {
		pipe.queue = nil
	}
	writer := c.ends[side]
	if _, deaf := writer.(flushDeaf); dataSent > 0 && !deaf {
		count := dataSent
		// One notice for the batch, when its last packet has left: a
		// writer learns of its flushes slightly late, never early.
		n.world.on(writer.endpointHost(), lastEnd-now, "flushed", c.ID, func() {
			if c.state != closed {
				writer.flushed(c, count)
			}
		})
	}
}

func (n *Network) scheduleArrival(c *Conn, side int, p packet, arrival time.Duration) {
	receiver := c.path[len(c.path)-1]
	if side == 1 {
		receiver = c.path[0]
	}
	kind := "deliver"
	switch p.kind {
	case packetOpen:
		kind = "open"
	case packetClose:
		kind = "close"
	}
	n.world.schedule(arrival, receiver, kind, receiver.name, p.digest^c.ID, func() { n.arrive(c, side, p) })
}

func (n *Network) arrive(c *Conn, side int, p packet) {
	if c.state == closed {
		return
	}
	pipe := &c.pipes[side]
	if pipe.readerGone {
		return
	}
	if pipe.notReading && p.kind == packetData {
		pipe.unread = append(pipe.unread, p)
		return
	}
	n.consume(c, side, p)
}

// consume hands one arrived packet to the reader and frees its window.
func (n *Network) consume(c *Conn, side int, p packet) {
	pipe := &c.pipes[side]
	pipe.windowBytes -= p.size
	reader := c.ends[1-side]
	switch p.kind {
	case packetOpen:
		reader.connected(c)
	case packetData:
		reader.receive(c, p.payload)
	case packetClose:
		n.end(c)
		reader.closed(c, p.code)
		return
	}
	n.pump(c, side)
}

// SetReading starts or stops h reading the connection. A reader that
// stops lets arrivals pile up in its window; the writer then stalls.
func (n *Network) SetReading(c *Conn, h *host, reading bool) {
	side := 1 - c.side(h) // the pipe that h reads
	pipe := &c.pipes[side]
	pipe.notReading = !reading
	for reading && len(pipe.unread) > 0 && c.state != closed {
		p := pipe.unread[0]
		pipe.unread = pipe.unread[1:]
		n.consume(c, side, p)
	}
}

// reset ends a connection without a close: both ends hear CloseAbnormal
// after delay, except the host that caused it (a crashed process).
func (n *Network) reset(c *Conn, cause *host, delay time.Duration) {
	if c.state == closed {
		return
	}
	wasDialing := c.state == dialing
	n.end(c)
	for side, e := range c.ends {
		if e == nil || e.endpointHost() == cause {
			continue
		}
		if wasDialing && side == 1 {
			continue
		}
		end := e
		n.world.on(end.endpointHost(), delay, "reset", c.ID, func() { end.closed(c, CloseAbnormal) })
	}
}

// CrashHost resets every connection that crosses h: the others hear of it
// after the standard link latency (the kernel answers with a reset).
func (n *Network) CrashHost(h *host) {
	for _, c := range n.sortedConns() {
		if c.crosses(h) {
			n.reset(c, h, n.standard.Latency)
		}
	}
}

// Reset ends a connection abruptly (a fault): both ends hear CloseAbnormal.
func (n *Network) Reset(c *Conn) { n.reset(c, nil, 0) }

// Terminate closes a connection from a proxy on its path (the balancer
// shedding it): both ends hear closed(code) after their link's latency.
func (n *Network) Terminate(c *Conn, proxy *host, code int) {
	if c.state == closed {
		return
	}
	n.end(c)
	for _, e := range c.ends {
		if e == nil {
			continue
		}
		end := e
		latency := n.link(proxy, end.endpointHost()).sample(n.random)
		n.world.on(end.endpointHost(), latency, "terminated", c.ID, func() { end.closed(c, code) })
	}
}
