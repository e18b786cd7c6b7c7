package loadgen

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"chatlab/system/client"
	"chatlab/system/socket"
)

// Limits of a real client.
const (
	// inputQueueLenMax bounds frames and commands waiting for the client's
	// loop; a reader blocks (and TCP pushes back) rather than grow it.
	inputQueueLenMax = 256
	dialTimeout      = 5 * time.Second
	writeTimeout     = 10 * time.Second
	// idleWakeInterval wakes a loop with nothing scheduled, so that
	// resends and redials never wait on a lost input.
	idleWakeInterval = 250 * time.Millisecond
)

// Recorder takes a client's events as they happen. It is called from the
// client's own goroutine and must not block for long.
type Recorder func(clientName string, event client.Event)

// ClientConfig sets up one real client.
type ClientConfig struct {
	// Machine configures the state machine; Random may be nil (a source
	// seeded from Seed is used).
	Machine client.Config
	Seed    uint64
	// URLs are the WebSocket endpoints (ws://host:port/ws), a balancer or
	// nodes; each dial takes the next one, so a client whose node died
	// tries the others.
	URLs []string
	// Token, when set, is sent as Authorization: Bearer; otherwise the user
	// goes in ?user= (nodes under --auth off).
	Token string
	// TokenSource, when set, gives a fresh token: for the first dial when
	// Token is empty, when the machine asks for one (a node closed the
	// connection because its token expired) and after a dial refused with
	// 401. It is called on a dialing goroutine and may block until its
	// dial's timeout; an error fails that dial.
	TokenSource func(ctx context.Context) (string, error)
	Record      Recorder
	Epoch       time.Time // the origin of the clock handed to the machine (default: the Unix epoch, so every process agrees)
	ReadSize    int       // read buffer bytes (default 1024)
	// SocketBufferBytes, when set, caps the socket's kernel buffers. The
	// kernel's own grow to megabytes while a client reads, and a client
	// that then stops reading would hide a long backlog in them.
	SocketBufferBytes int
}

// Client is one system/client state machine on a real connection.
type Client struct {
	cfg     ClientConfig
	machine *client.Client
	inputs  chan func()
	done    chan struct{}
	urlNext int
	conn    *websocket.Conn
	mu      sync.Mutex // guards snapshot
	snap    client.Snapshot
	// readMu guards readResumed: nil while the client reads its
	// connection, a channel closed on resume while it does not (a slow
	// consumer).
	readMu      sync.Mutex
	readResumed chan struct{}
	// offline is set while the client is off the network: dials fail at
	// once and a connection that opens anyway is closed.
	offline atomic.Bool
	// token is the bearer token dials carry (the loop's); tokenStale asks
	// the next dial to take a fresh one from cfg.TokenSource.
	token      string
	tokenStale bool
}

// NewClient returns a client; Run starts it.
func NewClient(cfg ClientConfig) *Client {
	if cfg.Machine.Random == nil {
		source := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
		cfg.Machine.Random = source.Uint64
	}
	if cfg.Epoch.IsZero() {
		cfg.Epoch = time.Unix(0, 0)
	}
	if cfg.ReadSize == 0 {
		cfg.ReadSize = 1024
	}
	return &Client{cfg: cfg, machine: client.New(cfg.Machine), inputs: make(chan func(), inputQueueLenMax), done: make(chan struct{}),
		token: cfg.Token, tokenStale: cfg.Token == "" && cfg.TokenSource != nil}
}

// Name is the client's instance name.
func (c *Client) Name() string { return c.cfg.Machine.Name }

// Do runs fn on the state machine inside the client's loop. It blocks while
// the input queue is full and returns false once the client has stopped.
func (c *Client) Do(fn func(m *client.Client)) bool {
	select {
	case c.inputs <- func() { fn(c.machine) }:
		return true
	case <-c.done:
		return false
	}
}

// Join joins a room (now, and again on every reconnect).
func (c *Client) Join(room string) bool {
	return c.Do(func(m *client.Client) { _ = m.Join(room) })
}

// Send queues a send; the machine retries it until acked.
func (c *Client) Send(room, body string) bool {
	return c.Do(func(m *client.Client) { _, _ = m.Send(room, body) })
}

// Leave leaves a room: the membership ends, and a later Join starts a new
// one from the room's head.
func (c *Client) Leave(room string) bool {
	return c.Do(func(m *client.Client) { m.Leave(room) })
}

// Drop cuts the connection as a flaky network would: the reader sees the
// error, and the machine reconnects and resumes. It returns false once the
// client has stopped.
func (c *Client) Drop() bool {
	return c.loop(func() {
		if c.conn != nil {
			c.recordOwn(client.KindDropped)
			_ = c.conn.Close()
		}
	})
}

// errOffline fails the dials of a client that is off the network.
var errOffline = errors.New("client is offline")

// SetOffline takes the client off the network (true) or puts it back
// (false), as a phone that loses its signal: its connection drops and its
// dials fail until it is back, when its backoff brings it in again and it
// resumes every room with since. It returns false once the client has
// stopped.
func (c *Client) SetOffline(offline bool) bool {
	c.offline.Store(offline)
	if !offline {
		return true
	}
	return c.Drop()
}

// recordOwn records an action of the client's host on its transport (not
// the machine's), so that the history tells why a connection ended.
func (c *Client) recordOwn(kind client.EventKind) {
	if c.cfg.Record != nil {
		c.cfg.Record(c.Name(), client.Event{Kind: kind, AtMs: c.nowMs()})
	}
}

// SetURLs replaces the endpoints for the next dials (a balancer that came
// back on another port).
func (c *Client) SetURLs(urls []string) bool {
	urls = append([]string(nil), urls...)
	return c.loop(func() { c.cfg.URLs = urls })
}

// SetReading stops (false) or resumes (true) reading the connection, this
// one and the next: a client that stops reading is the slow consumer its
// node must cut off once the network's buffers and its send queue are
// full. The client keeps sending meanwhile.
// Each change is recorded (stalled, reading) through the client's loop.
func (c *Client) SetReading(reading bool) {
	c.readMu.Lock()
	changed := false
	switch {
	case !reading && c.readResumed == nil:
		c.readResumed, changed = make(chan struct{}), true
	case reading && c.readResumed != nil:
		close(c.readResumed)
		c.readResumed, changed = nil, true
	}
	c.readMu.Unlock()
	if changed {
		kind := client.KindStalled
		if reading {
			kind = client.KindReading
		}
		c.loop(func() { c.recordOwn(kind) })
	}
}

// waitReading returns once the client reads again, or false once it has
// stopped.
func (c *Client) waitReading() bool {
	c.readMu.Lock()
	resumed := c.readResumed
	c.readMu.Unlock()
	if resumed == nil {
		return true
	}
	select {
	case <-resumed:
		return true
	case <-c.done:
		return false
	}
}

// Snapshot is the machine's state as of the loop's last turn.
func (c *Client) Snapshot() client.Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.snap
}

// Done is closed when Run has returned.
func (c *Client) Done() <-chan struct{} { return c.done }

// Run drives the machine until ctx ends, then closes the connection.
func (c *Client) Run(ctx context.Context) {
	defer close(c.done)
	timer := time.NewTimer(idleWakeInterval)
	defer timer.Stop()
	for {
		c.turn()
		wait := idleWakeInterval
		if at, ok := c.machine.Deadline(); ok {
			if until := time.Duration(at-c.nowMs()) * time.Millisecond; until < wait {
				wait = max(until, 0)
			}
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			if c.conn != nil {
				_ = c.conn.Close()
			}
			return
		case input := <-c.inputs:
			c.machine.Tick(c.nowMs())
			input()
		case <-timer.C:
		}
	}
}

func (c *Client) nowMs() int64 { return time.Since(c.cfg.Epoch).Milliseconds() }

// turn ticks the machine and carries out its Ready.
func (c *Client) turn() {
	c.machine.Tick(c.nowMs())
	for range 16 { // effects may cause effects; 16 rounds is far more than one input needs
		rd := c.machine.Ready()
		for _, event := range rd.Events {
			if c.cfg.Record != nil {
				c.cfg.Record(c.Name(), event)
			}
		}
		c.write(rd.Frames)
		if rd.Close && c.conn != nil {
			_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			_ = c.conn.Close()
		}
		if rd.Dial {
			fresh := c.cfg.TokenSource != nil && (rd.FreshToken || c.tokenStale)
			go c.dial(c.cfg.URLs[c.urlNext%len(c.cfg.URLs)], c.token, fresh)
			c.urlNext++
		}
		if len(rd.Events) == 0 && len(rd.Frames) == 0 && !rd.Close && !rd.Dial {
			break
		}
	}
	c.mu.Lock()
	c.snap = c.machine.Snapshot()
	c.mu.Unlock()
}

func (c *Client) write(frames [][]byte) {
	if c.conn == nil {
		return
	}
	for _, frame := range frames {
		_ = c.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err := c.conn.WriteMessage(websocket.TextMessage, frame); err != nil {
			_ = c.conn.Close() // the reader sees the error and reports the drop
			return
		}
	}
}

// dial connects in its own goroutine with token (a fresh one from the
// token source when fresh is set) and reports back through the loop.
func (c *Client) dial(rawURL, token string, fresh bool) {
	if c.offline.Load() {
		c.enqueue(func() { c.machine.DialFailed() })
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	if fresh {
		var err error
		if token, err = c.cfg.TokenSource(ctx); err != nil {
			c.enqueue(func() { c.machine.DialFailed() })
			return
		}
		c.enqueue(func() { c.token, c.tokenStale = token, false })
	}
	target, header := c.target(rawURL, token)
	dialer := websocket.Dialer{HandshakeTimeout: dialTimeout, ReadBufferSize: c.cfg.ReadSize, WriteBufferSize: 1024,
		NetDialContext: c.netDial}
	conn, response, err := dialer.DialContext(ctx, target, header)
	if err != nil && response != nil && response.StatusCode == http.StatusUnauthorized {
		// The token was refused (expired while the client was away, say):
		// the next dial takes a fresh one.
		c.enqueue(func() { c.tokenStale = true })
	}
	c.enqueue(func() {
		// Checked in the loop: SetOffline's drop runs after this unless
		// offline was set first.
		if err == nil && c.offline.Load() {
			_ = conn.Close() // the dial began before the signal went
			err = errOffline
		}
		if err != nil {
			c.machine.DialFailed()
			return
		}
		c.conn = conn
		c.machine.Connected()
		go c.read(conn)
	})
}

func (c *Client) target(rawURL, token string) (string, http.Header) {
	header := http.Header{}
	parsed, err := url.Parse(rawURL)
	if err != nil {
		return rawURL, header
	}
	if token != "" {
		header.Set("Authorization", "Bearer "+token)
	} else {
		query := parsed.Query()
		query.Set("user", c.cfg.Machine.User)
		parsed.RawQuery = query.Encode()
	}
	return parsed.String(), header
}

// read feeds frames to the loop until the connection ends, then reports
// the close code (1006 for an abnormal drop).
func (c *Client) read(conn *websocket.Conn) {
	for {
		if !c.waitReading() {
			_ = conn.Close()
			return
		}
		_, data, err := conn.ReadMessage()
		if err != nil {
			code, reason := closeOf(err)
			_ = conn.Close()
			c.enqueue(func() {
				if c.conn == conn {
					c.conn = nil
					c.machine.DisconnectedBecause(code, reason)
				}
			})
			return
		}
		c.enqueue(func() { c.machine.Receive(data) })
	}
}

// closeOf is the close code and reason a read error means: the peer's close
// frame's, 1002 when the stream broke the WebSocket framing (gorilla has
// then sent close 1002 itself: a frame cut short or spliced, a bad opcode,
// reserved bits), and 1006 when the connection just ended.
func closeOf(err error) (int, string) {
	var closeErr *websocket.CloseError
	switch {
	case errors.As(err, &closeErr):
		return closeErr.Code, closeErr.Text
	case strings.HasPrefix(err.Error(), "websocket: ") && !errors.Is(err, websocket.ErrReadLimit):
		return websocket.CloseProtocolError, err.Error()
	}
	return websocket.CloseAbnormalClosure, ""
}

func (c *Client) enqueue(fn func()) { c.loop(fn) }

// loop runs fn inside the client's loop; false once the client has
// stopped.
func (c *Client) loop(fn func()) bool {
	select {
	case c.inputs <- fn:
		return true
	case <-c.done:
		return false
	}
}

// netDial dials TCP and caps the socket's buffers when configured.
func (c *Client) netDial(ctx context.Context, network, address string) (net.Conn, error) {
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	socket.CapBuffers(conn, c.cfg.SocketBufferBytes)
	return conn, nil
}
