package client

import (
	"fmt"

	"chatlab/system/protocol"
)

// state is where the client's connection stands.
type state int

const (
	// stateWaiting: no transport; a dial is due at redialAtMs.
	stateWaiting state = iota
	// stateDialing: Ready asked for a dial; the host has not reported back.
	stateDialing
	// stateConnected: the transport is up.
	stateConnected
	// stateClosing: Ready asked to close the transport; frames are no
	// longer written, but frames still arriving are handled.
	stateClosing
)

var stateNames = [...]string{"waiting", "dialing", "connected", "closing"}

func (s state) String() string { return stateNames[s] }

// drainCloseWaitMs is how long a client told "draining" waits for the node
// to close the connection before closing it itself: a draining node refuses
// every send, so a connection it forgets to close is useless.
const drainCloseWaitMs = 5000

// readyLenMax bounds the frames and events held for one Ready. The host
// calls Ready after every input, and one input produces at most a join per
// room plus a transmission per pending send, so reaching it means the host
// stopped calling Ready.
const readyLenMax = 1 << 16

// Ready is everything the client wants done since the last call to Ready.
type Ready struct {
	// Frames are text frames to write, in order. The host must not modify
	// them: a resend writes the same bytes again.
	Frames [][]byte
	// Dial asks the host to open a transport, then to call Connected or
	// DialFailed.
	Dial bool
	// FreshToken, with Dial, asks the host to dial with a fresh token from
	// its token source: the node closed the last connection because its
	// token expired (protocol.CloseTokenExpired).
	FreshToken bool
	// Close asks the host to close the transport (after writing Frames),
	// then to call Disconnected.
	Close bool
	// Events are what happened, in order, for the history recorder.
	Events []Event
}

// Client is one chat client. It is not safe for concurrent use: its host
// feeds it from one goroutine (or one simulator loop).
type Client struct {
	cfg   Config
	nowMs int64
	state state

	// redialAtMs is when a waiting client dials again.
	redialAtMs int64
	// failures counts connection failures since the last welcome; it sets
	// the backoff ceiling.
	failures int
	// welcomed is true once the current connection got its welcome.
	welcomed bool
	// draining is true once the current connection's node said it is
	// draining; sends are held until the next connection.
	draining       bool
	drainCloseAtMs int64
	// tokenExpired is set when a node closed the connection because its
	// token expired; the next dial asks for a fresh one.
	tokenExpired bool
	node         string
	connections  int

	rooms     map[string]*room
	roomNames []string // sorted, so that joins go out in the same order every run
	// joinsSent numbers the joins this client wrote: each join's ref.
	joinsSent uint64
	// left is where the app stood in the rooms it left, oldest first, at
	// most leftRoomsMax.
	left []seen

	pending     []*pendingSend // in counter order, which is id order
	sendCounter uint64

	counters Counters
	ready    Ready
}

// New returns a client that wants to be connected: its first Ready asks to
// dial. It panics on an invalid Config.
func New(cfg Config) *Client {
	cfg = cfg.withDefaults()
	cfg.check()
	c := &Client{cfg: cfg, state: stateDialing, rooms: map[string]*room{}}
	c.ready.Dial = true
	return c
}

// Tick advances the client's clock to nowMs and does what is due: a redial,
// resends of unanswered sends, closing a connection a draining node kept
// open. The clock must not go backwards.
func (c *Client) Tick(nowMs int64) {
	if nowMs < c.nowMs {
		panic(fmt.Sprintf("client: clock went back from %d to %d ms", c.nowMs, nowMs))
	}
	c.nowMs = nowMs
	switch c.state {
	case stateWaiting:
		if c.nowMs >= c.redialAtMs {
			c.dial()
		}
	case stateConnected:
		if c.draining {
			if c.nowMs >= c.drainCloseAtMs {
				c.state = stateClosing
				c.ready.Close = true
			}
			return
		}
		c.resendDue()
	}
}

// Deadline is when Tick next has something to do; ok is false when nothing
// is scheduled (the client waits for an input).
func (c *Client) Deadline() (atMs int64, ok bool) {
	switch c.state {
	case stateWaiting:
		return c.redialAtMs, true
	case stateConnected:
		if c.draining {
			return c.drainCloseAtMs, true
		}
		return c.resendDeadline()
	}
	return 0, false
}

// Ready returns everything to do since the last call and clears it.
func (c *Client) Ready() Ready {
	rd := c.ready
	c.ready = Ready{}
	return rd
}

// Connected reports that the dial succeeded. The client joins every room
// with since, then transmits every pending send in id order.
func (c *Client) Connected() {
	c.expectState("Connected", stateDialing)
	c.state = stateConnected
	c.welcomed, c.draining, c.node = false, false, ""
	c.connections++
	c.event(Event{Kind: KindConnected})
	for _, name := range c.roomNames {
		c.sendJoin(c.rooms[name])
	}
	c.transmitAll()
}

// Disconnected reports that the transport is gone, with its close code
// (1006 for an abnormal drop). The client schedules a redial.
func (c *Client) Disconnected(code int) {
	c.DisconnectedBecause(code, "")
}

// DisconnectedBecause is Disconnected with the close frame's reason text,
// which the history keeps beside the code.
func (c *Client) DisconnectedBecause(code int, reason string) {
	c.expectState("Disconnected", stateConnected, stateClosing)
	c.event(Event{Kind: KindDisconnected, CloseCode: code, CloseReason: reason, Node: c.node})
	asked := c.draining || (code == protocol.CloseReconnect && c.welcomed) || code == protocol.CloseTokenExpired
	if code == protocol.CloseTokenExpired {
		c.tokenExpired = true
	}
	c.state = stateWaiting
	c.welcomed, c.draining, c.node = false, false, ""
	for _, name := range c.roomNames {
		c.rooms[name].joined = false
	}
	for _, p := range c.pending {
		p.inFlight = false
	}
	if asked {
		c.redialAtMs = c.nowMs + c.jitterMs(c.cfg.ReconnectJitterMs)
		return
	}
	c.backOff()
}

// DialFailed reports that the dial did not connect. The client backs off
// further before the next one.
func (c *Client) DialFailed() {
	c.expectState("DialFailed", stateDialing)
	c.counters.DialFailures++
	c.event(Event{Kind: KindDialFailed})
	c.state = stateWaiting
	c.backOff()
}

func (c *Client) dial() {
	c.state = stateDialing
	c.ready.Dial = true
	if c.tokenExpired {
		c.ready.FreshToken, c.tokenExpired = true, false
	}
}

func (c *Client) expectState(input string, allowed ...state) {
	for _, s := range allowed {
		if c.state == s {
			return
		}
	}
	panic(fmt.Sprintf("client %s: %s while %s", c.cfg.Name, input, c.state))
}

// write queues a frame for the current connection.
func (c *Client) write(frame []byte) {
	if len(c.ready.Frames) >= readyLenMax {
		panic("client: Ready holds too many frames; the host must call Ready after every input")
	}
	c.counters.FramesOut++
	c.ready.Frames = append(c.ready.Frames, frame)
}

// event records an event stamped with the current time.
func (c *Client) event(e Event) {
	if len(c.ready.Events) >= readyLenMax {
		panic("client: Ready holds too many events; the host must call Ready after every input")
	}
	e.AtMs = c.nowMs
	c.ready.Events = append(c.ready.Events, e)
}

// online reports whether frames may be written now.
func (c *Client) online() bool { return c.state == stateConnected }
