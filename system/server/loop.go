package server

import (
	"context"
	"sync/atomic"
	"time"

	"chatlab/system/broker"
	"chatlab/system/node"
)

// Event loop limits.
const (
	// inputsLenMax bounds the loop's input channel. Readers, writers and
	// broker goroutines block when the loop falls behind, which slows
	// clients down instead of growing memory.
	inputsLenMax = 4096
	// tickInterval drives node.Tick: the resolution of rate limits,
	// retries and pings.
	tickInterval = 100 * time.Millisecond
	// inputsPerWriteMax bounds the inputs the loop takes, while more are
	// waiting, before it starts the writers of the connections they gave
	// something to write. A loop that is behind (a burst of room messages)
	// so hands each connection the frames of several inputs in one batch,
	// one write instead of one per input; a loop that is not behind starts
	// them after each input, as before.
	inputsPerWriteMax = 32
)

// input is one thing that happened outside the loop, applied on the loop's
// goroutine: the only goroutine that touches the node and the loop's state.
type input func(l *loop)

// loop runs one node.Node: it feeds it inputs, one at a time, and after
// each carries out what node.Ready asks for.
type loop struct {
	server *Server
	node   *node.Node
	broker broker.Broker
	inputs chan input
	// stop asks run to return; done is closed when it has. stopping is
	// set as run begins to return, before it shuts the sockets down.
	stop     chan struct{}
	stopping atomic.Bool
	done     chan struct{}

	conns map[node.ConnID]*conn
	// dirty holds connections with something new to write, in the order
	// they got it; each appears once (conn.dirty).
	dirty []*conn
	pings pingWheel
	// writeBatchFrames is the most frames one writer takes.
	writeBatchFrames int

	calls         []brokerCall // ready to run, waiting for a slot, oldest first
	callsPending  int          // calls not yet started, in calls or callsAfterSubscribe
	callsInFlight int

	subscriptionOps []subscriptionOp // waiting for the subscriber, in order
	subscribing     bool
	// subscribesPending counts a room's subscribes not yet confirmed;
	// callsAfterSubscribe holds the room's calls until they are.
	subscribesPending   map[string]int
	callsAfterSubscribe map[string][]brokerCall

	draining bool
	// drained is closed once the node drains and its last connection is gone.
	drained chan struct{}
}

func newLoop(server *Server, n *node.Node, b broker.Broker, sendQueueLenMax int) *loop {
	return &loop{
		writeBatchFrames:    max(1, min(writeBatchFramesMax, sendQueueLenMax/4)),
		server:              server,
		node:                n,
		broker:              b,
		inputs:              make(chan input, inputsLenMax),
		stop:                make(chan struct{}),
		done:                make(chan struct{}),
		conns:               map[node.ConnID]*conn{},
		subscribesPending:   map[string]int{},
		callsAfterSubscribe: map[string][]brokerCall{},
		pings:               newPingWheel(server.cfg.PingPeriod),
		drained:             make(chan struct{}),
	}
}

// submit hands an input to the loop; it reports false once the loop has
// stopped, so that no goroutine blocks forever on a closed server.
func (l *loop) submit(in input) bool {
	select {
	case l.inputs <- in:
		return true
	case <-l.done:
		return false
	}
}

// run is the event loop. It returns when stop is closed, after closing
// every connection.
func (l *loop) run() {
	defer close(l.done)
	ticker := time.NewTicker(tickInterval)
	defer ticker.Stop()
	l.node.Tick(time.Now().UnixMilli())
	for {
		select {
		case in := <-l.inputs:
			in(l)
		case now := <-ticker.C:
			l.node.Tick(now.UnixMilli())
			l.pings.tick(l)
			l.expireReads()
		case <-l.stop:
			l.shutdownSockets()
			return
		}
		l.apply()
		// Inputs already waiting go first, so that their frames join the
		// same batches (inputsPerWriteMax).
		for taken := 1; taken < inputsPerWriteMax && len(l.inputs) > 0; taken++ {
			(<-l.inputs)(l)
			l.apply()
		}
		l.startWriters()
		if l.draining && len(l.conns) == 0 {
			select {
			case <-l.drained:
			default:
				close(l.drained)
			}
		}
	}
}

// shutdownSockets ends every connection as the loop stops. The inputs
// already queued run first, so that a connection whose open was queued is
// listed; one opened later sees stopping and shuts itself down
// (serveWebSocket). Sockets are shut down, not closed: each connection's
// reads wake to the end and close it (readEnded), and Server.Close closes
// what is left once they have (closeSockets).
func (l *loop) shutdownSockets() {
	l.stopping.Store(true)
	for queued := len(l.inputs); queued > 0; queued-- {
		(<-l.inputs)(l)
	}
	for _, c := range l.conns {
		shutdown(c.ws.NetConn())
	}
}

// closeSockets closes every connection's socket once run has returned and
// every reader has ended: a connection whose readerDone the loop never took
// is still listed.
func (l *loop) closeSockets() {
	for _, c := range l.conns {
		c.ws.Close()
	}
}

// apply carries out everything the node asked for since the last input.
func (l *loop) apply() {
	ready := l.node.Ready()
	for _, frame := range ready.Frames {
		if c := l.conns[frame.Conn]; c != nil {
			l.enqueue(c, outbound{data: frame.Data, counted: true})
		}
	}
	for _, closing := range ready.Closes {
		if c := l.conns[closing.Conn]; c != nil {
			l.closeConn(c, closing)
		}
	}
	// Subscription changes first: a room's calls in this Ready wait for
	// its subscribe.
	for _, room := range ready.Subscribes {
		l.queueSubscription(subscriptionOp{room: room, subscribe: true})
	}
	for _, room := range ready.Unsubscribes {
		l.queueSubscription(subscriptionOp{room: room})
	}
	l.startSubscriber()
	for _, request := range ready.Publishes {
		l.call(publishCall(request))
	}
	for _, request := range ready.Fetches {
		l.call(fetchCall(request))
	}
	for _, latencyMs := range ready.LatenciesMs {
		l.server.metrics.deliveryLatency.Observe(float64(latencyMs) / 1000)
	}
	l.node.Advance(ready)
}

// startWriters starts a writer for each connection given something to
// write since the last call, but those with one running: it takes what
// was queued meanwhile when it is done.
func (l *loop) startWriters() {
	for _, c := range l.dirty {
		c.dirty = false
		if !c.writing {
			l.startWriter(c)
		}
	}
	clear(l.dirty)
	l.dirty = l.dirty[:0]
}

// brokerEvents forwards the broker's messages and link changes to the loop.
func (l *loop) brokerEvents() {
	events := l.broker.Events()
	for {
		select {
		case event, ok := <-events:
			if !ok {
				return
			}
			if !l.submit(func(l *loop) { l.brokerEvent(event) }) {
				return
			}
		case <-l.done:
			return
		}
	}
}

func (l *loop) brokerEvent(event broker.Event) {
	if event.Msg != nil {
		l.node.Message(*event.Msg)
		return
	}
	switch event.Link {
	case broker.LinkUp:
		l.server.setLinkUp(true)
		l.node.BrokerUp()
	case broker.LinkDown:
		l.server.setLinkUp(false)
		l.node.BrokerDown()
	}
}

func (l *loop) drain() {
	l.draining = true
	l.node.Drain()
}

// snapshot answers a /state or /metrics request on the loop's goroutine.
func (l *loop) snapshot(reply chan<- node.Snapshot) {
	reply <- l.node.Snapshot()
}

// requestSnapshot asks the loop for the node's state; it gives up when ctx
// ends or the loop has stopped.
func (l *loop) requestSnapshot(ctx context.Context) (node.Snapshot, bool) {
	reply := make(chan node.Snapshot, 1)
	select {
	case l.inputs <- func(l *loop) { l.snapshot(reply) }:
	case <-l.done:
		return node.Snapshot{}, false
	case <-ctx.Done():
		return node.Snapshot{}, false
	}
	select {
	case snapshot := <-reply:
		return snapshot, true
	case <-l.done:
		return node.Snapshot{}, false
	case <-ctx.Done():
		return node.Snapshot{}, false
	}
}
