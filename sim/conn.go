package sim

import "time"

// CloseAbnormal is WebSocket's code for a connection that ended without a
// close frame (reset, crash, timeout). Endpoints see it on a reset.
const CloseAbnormal = 1006

// windowBytesMax is what one direction of a connection holds between the
// writer and the reading application: kernel send plus receive buffers.
// A reader that stops reading fills it and the writer's frames stay
// unflushed, which is how a slow consumer looks to a node.
const windowBytesMax = 256 * 1024

// endpoint is one end of a connection: the code on a host that reads it.
type endpoint interface {
	endpointHost() *host
	// connected: the dial completed (dialer side only).
	connected(c *Conn)
	// receive: one message arrived and was read.
	receive(c *Conn, payload any)
	// closed: the peer closed with code, the connection was reset
	// (CloseAbnormal) or, on a dialing connection, the dial failed.
	closed(c *Conn, code int)
	// flushed: count messages this end wrote have left its buffers.
	flushed(c *Conn, count int)
}

// flushDeaf marks an endpoint whose flushed does nothing (clients and
// Redis): the network then schedules no flush notice for it (an eighth of
// a run's events). Dropping an event that does nothing keeps the order of the
// others (sequence numbers only grow).
type flushDeaf interface{ ignoresFlushes() }

// listener accepts connections on a host. accept must answer with
// Network.Accept, Network.Refuse or Network.Forward, now or later.
type listener interface {
	endpointHost() *host
	accept(c *Conn)
}

type connState int

const (
	dialing connState = iota
	open
	closed
)

type packetKind int

const (
	packetData  packetKind = iota
	packetOpen             // the handshake completed: first packet back to the dialer
	packetClose            // a graceful close, in order after the data before it
)

type packet struct {
	kind    packetKind
	payload any
	size    int
	digest  uint64
	code    int
}

// pipe is one direction of a connection, ordered and reliable while the
// connection is up, like TCP.
type pipe struct {
	// queue holds packets written and not yet on the wire: the window is
	// full or the path is partitioned.
	queue      []packet
	queueBytes int
	// queueBytesMax, when set, resets the connection when the queue grows
	// past it (Redis's client-output-buffer-limit).
	queueBytesMax int
	// windowBytes are on the wire or arrived and not yet read.
	windowBytes int
	busyUntil   time.Duration
	lastArrival time.Duration
	// unread holds arrived packets while the reader does not read.
	unread     []packet
	notReading bool
	// closing: this direction carries a close; nothing more is written.
	closing bool
	// readerGone: the reader closed its end; what arrives is dropped.
	readerGone bool
}

// Conn is one simulated connection. Path lists the hosts it crosses: the
// dialer first, the acceptor last, proxies (the balancer) between. ends[0]
// is the dialer's endpoint; pipes[s] carries what ends[s] writes.
type Conn struct {
	ID uint64
	// User is who the dialer connects as (the token or ?user=).
	User string
	// Source is the dialer's address, as the balancer's per-address limit
	// sees it ("": none given, no limit applies).
	Source string
	path   []*host
	ends   [2]endpoint
	pipes  [2]pipe
	state  connState
	// target is the listener being dialed while dialing.
	target listener
	// relay is the proxy on the path, told when the connection opens,
	// when a dial beyond it fails and when it ends.
	relay relay
}

// relay is a proxy on a connection's path (the balancer).
type relay interface {
	endpointHost() *host
	// relayOpened: the backend accepted.
	relayOpened(c *Conn)
	// relayFailed: the dial from the proxy to the backend failed; the
	// proxy answers with Network.Forward (a retry) or Network.Refuse.
	relayFailed(c *Conn)
	// relayEnded: the connection is over.
	relayEnded(c *Conn)
}

// side is the end (0 dialer, 1 acceptor) that h holds.
func (c *Conn) side(h *host) int {
	if c.ends[0] != nil && c.ends[0].endpointHost() == h {
		return 0
	}
	return 1
}

// crosses reports whether the connection's path uses host h.
func (c *Conn) crosses(h *host) bool {
	for _, p := range c.path {
		if p == h {
			return true
		}
	}
	return false
}

// Open reports whether the connection is established and not closed.
func (c *Conn) Open() bool { return c.state == open }
