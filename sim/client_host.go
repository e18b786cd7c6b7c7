package sim

import (
	"time"

	"chatlab/system/client"
)

// clientDialTimeout bounds a client's dial, the TCP connect and the
// WebSocket handshake together, as loadgen's dialTimeout does: a dial
// nothing answers (a paused node, or a balancer relaying to one, accepts
// the connection and never completes the handshake) fails then, and the
// client backs off and dials again, through the balancer to a node that
// answers.
const clientDialTimeout = 5 * time.Second

// ClientHost runs one system/client state machine. It dials the cluster's
// entry (the balancer, or a node when there is none), feeds the client its
// inputs and records every event the client reports in the history.
type ClientHost struct {
	name    string
	host    *host
	cluster *Cluster
	client  *client.Client
	conn    *Conn
	user    string
	// online is true between connected and the end of that connection.
	online bool
	// reading is false while the client stops reading (a slow consumer).
	reading bool
	// offline is true while the client is off the network: its dials fail.
	offline bool
	// tickAt is the next scheduled tick, when tickScheduled.
	tickAt        int64
	tickScheduled bool
}

func newClientHost(cluster *Cluster, config client.Config) *ClientHost {
	random := cluster.world.NewRandom()
	config.Random = random.Uint64
	user := config.User
	if user == "" {
		user = config.Name
	}
	h := &ClientHost{name: config.Name, user: user, host: newHost(config.Name), cluster: cluster, client: client.New(config), reading: true}
	h.cluster.world.on(h.host, 0, "client-start", 0, func() {
		h.advance()
		h.flush()
	})
	return h
}

// Name is the client's instance name.
func (h *ClientHost) Name() string { return h.name }

// Client is the running state machine.
func (h *ClientHost) Client() *client.Client { return h.client }

func (h *ClientHost) endpointHost() *host { return h.host }

// advance brings the client's clock to virtual now before an input, so
// that its events carry the right time.
func (h *ClientHost) advance() {
	h.client.Tick(h.cluster.world.now.Milliseconds())
}

// Join, Leave and Send are the application's calls, recorded by the client
// in its events.
func (h *ClientHost) Join(room string) error {
	h.advance()
	err := h.client.Join(room)
	h.flush()
	return err
}

// Leave forgets a room.
func (h *ClientHost) Leave(room string) {
	h.advance()
	h.client.Leave(room)
	h.flush()
}

// Send posts body to room.
func (h *ClientHost) Send(room, body string) (string, error) {
	h.advance()
	id, err := h.client.Send(room, body)
	h.flush()
	return id, err
}

func (h *ClientHost) connected(c *Conn) {
	if c != h.conn {
		return
	}
	if h.offline {
		h.cluster.network.Reset(c) // the dial began before the signal went
		return
	}
	h.advance()
	h.online = true
	h.cluster.network.SetReading(c, h.host, h.reading)
	h.client.Connected()
	h.flush()
}

func (h *ClientHost) receive(c *Conn, payload any) {
	if c != h.conn {
		return
	}
	h.advance()
	h.cluster.lastClientTraffic = h.cluster.world.now
	h.client.ReceiveDecoded(h.cluster.frames.decode(payload.([]byte)))
	h.flush()
}

func (h *ClientHost) closed(c *Conn, code int) {
	if c != h.conn {
		return
	}
	h.conn = nil
	h.advance()
	if h.online {
		h.online = false
		h.client.Disconnected(code)
	} else {
		h.client.DialFailed() // never got past the dial
	}
	h.flush()
}

func (h *ClientHost) flushed(*Conn, int) {}
func (h *ClientHost) ignoresFlushes()    {}

// flush carries out the client's Ready and keeps its next tick scheduled.
func (h *ClientHost) flush() {
	ready := h.client.Ready()
	network := h.cluster.network
	if h.conn != nil && len(ready.Frames) > 0 {
		h.cluster.lastClientTraffic = h.cluster.world.now
		for _, frame := range ready.Frames {
			network.Write(h.conn, h.host, frame, len(frame), digest(frame))
		}
	}
	h.cluster.record(h.name, ready.Events)
	if ready.Close && h.conn != nil {
		c := h.conn
		h.conn, h.online = nil, false
		network.Close(c, h.host, closeNormal)
		h.cluster.world.on(h.host, 0, "client-closed", c.ID, func() {
			h.advance()
			h.client.Disconnected(closeNormal)
			h.flush()
		})
	}
	if ready.Dial && h.offline {
		h.cluster.world.on(h.host, 0, "client-offline-dial", 0, func() {
			h.advance()
			h.client.DialFailed()
			h.flush()
		})
	} else if ready.Dial {
		c := network.Dial(h, h.cluster.entry(), h.user)
		c.Source = h.name // every client has an address of its own
		h.conn = c
		h.cluster.world.on(h.host, clientDialTimeout, "client-dial-timeout", c.ID, func() {
			if h.conn == c && c.state == dialing {
				network.Reset(c) // the dialer hears closed: DialFailed
			}
		})
	}
	h.scheduleTick()
}

// closeNormal is WebSocket's normal closure.
const closeNormal = 1000

func (h *ClientHost) scheduleTick() {
	atMs, ok := h.client.Deadline()
	if !ok || (h.tickScheduled && h.tickAt <= atMs) {
		return
	}
	// A tick just ran for everything due by now: the next one is later.
	atMs = max(atMs, h.cluster.world.now.Milliseconds()+1)
	h.tickAt, h.tickScheduled = atMs, true
	at := time.Duration(atMs) * time.Millisecond
	h.cluster.world.schedule(at, h.host, "client-tick", h.name, 0, func() {
		if h.tickScheduled && h.tickAt == atMs {
			h.tickScheduled = false
		}
		h.advance()
		h.flush()
	})
}

// SetReading stops (false) or resumes (true) reading the connection: a
// client that stops reading is the slow consumer its node must cut off.
// The change is recorded in the history, so that a check knows who was
// stalled and when.
func (h *ClientHost) SetReading(reading bool) {
	if h.reading != reading {
		kind := client.KindStalled
		if reading {
			kind = client.KindReading
		}
		h.recordOwn(kind)
	}
	h.reading = reading
	if h.conn != nil && h.conn.state != dialing {
		h.cluster.network.SetReading(h.conn, h.host, reading)
	}
}

// SetOffline takes the client off the network (true) or puts it back
// (false), as a phone that loses its signal: its connection resets, and its
// dials fail until it is back, when its backoff brings it in again and it
// resumes every room with since.
func (h *ClientHost) SetOffline(offline bool) {
	h.offline = offline
	if offline && h.conn != nil {
		if h.conn.state == open {
			h.recordOwn(client.KindDropped)
		}
		h.cluster.network.Reset(h.conn)
	}
}

// Drop resets the client's connection, as a flaky network would: both ends
// hear an abnormal close and the client reconnects and resumes.
func (h *ClientHost) Drop() {
	if h.conn != nil && h.conn.state == open {
		h.recordOwn(client.KindDropped)
		h.cluster.network.Reset(h.conn)
	}
}

// recordOwn records an action of the host's own on the transport.
func (h *ClientHost) recordOwn(kind client.EventKind) {
	h.cluster.record(h.name, []client.Event{{Kind: kind, AtMs: h.cluster.world.now.Milliseconds()}})
}
