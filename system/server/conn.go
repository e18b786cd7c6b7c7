package server

import (
	"bufio"
	"errors"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"chatlab/system/node"
	"chatlab/system/protocol"
)

// Connection limits and timings (gorilla's chat example).
const (
	// PongWaitDefault is how long a connection may stay silent, pongs
	// included, before its reader gives up on it.
	PongWaitDefault = 60 * time.Second
	// closeWait is how long the reader waits for the peer's answer to our
	// close frame before dropping the socket.
	closeWait = 2 * time.Second
	// rejectsPendingMax bounds error frames the runtime itself queues for
	// one connection (binary frames): a client flooding binary frames gets
	// the first answers, not an unbounded queue.
	rejectsPendingMax = 16
)

// conn is one WebSocket connection. The loop owns every field but ws; the
// reader goroutine and the current writer goroutine use ws, and only the
// loop closes it.
type conn struct {
	id     node.ConnID
	access node.Access // its user and what its credentials allow, handed to the node
	ws     *websocket.Conn
	// reader is ws's read buffer (see hijackedReader): while it is empty
	// between frames, the reader goroutine waits on the socket itself.
	reader *bufio.Reader

	queue   []outbound // frames not yet handed to a writer
	pingDue bool
	writing bool // a writer goroutine holds a batch
	dirty   bool // listed in loop.dirty

	// closing is the close frame to write after the queue; closeBy is the
	// latest time anything more may be written, so that a client that
	// stopped reading is cut off within Config.WriteTimeout, whatever is queued.
	closing *node.CloseConn
	closeBy time.Time
	// closeSent is set by the writer once the close frame is out; pongs
	// then no longer extend the reader's deadline.
	closeSent atomic.Bool
	// closed: the close frame is written or the socket failed; nothing
	// more is written.
	closed bool

	readerDone bool
	// nodeGone: the node no longer knows this connection (it asked for the
	// close, or was told Closed).
	nodeGone bool

	rejectsPending int
}

// outbound is one frame to write. counted frames came from the node and are
// reported back with node.Flushed; the runtime's own error frames are not.
type outbound struct {
	data    []byte
	counted bool
}

// open registers an upgraded connection with the loop and the node.
func (l *loop) open(c *conn) {
	l.conns[c.id] = c
	l.pings.add(c)
	l.node.OpenAccess(c.id, c.access)
}

// read is the connection's reader. It waits for the socket on a shallow
// stack (awaitFrame) and hands each arrival to a short-lived goroutine that
// reads the frames with gorilla (readFrames): gorilla's read path needs a
// grown stack, and a parked goroutine's grown stack is never shrunk, so the
// one goroutine an idle connection keeps never runs it. It turns frames
// into inputs until the socket fails or closes.
func (l *loop) read(c *conn) {
	c.ws.SetReadLimit(protocol.FrameBytesMax)
	c.ws.SetReadDeadline(time.Now().Add(l.server.cfg.PongWait))
	c.ws.SetPongHandler(func(string) error {
		l.ponged(c)
		return nil
	})
	done := make(chan error)
	for {
		err := l.awaitFrame(c)
		if err == nil {
			go l.readFrames(c, done)
			err = <-done
		}
		if err == errLoopGone {
			break
		}
		if err != nil {
			// Over the read limit gorilla has already sent close 1009.
			l.server.log.Debug("connection read ended", "conn", c.id, "user", c.access.User, "err", err)
			break
		}
	}
	l.submit(func(l *loop) { l.readerDone(c) })
}

// errLoopGone ends a reader whose loop no longer takes inputs.
var errLoopGone = errors.New("the loop has stopped")

// readFrames reads one message and then those already in the read buffer,
// submits each to the loop and tells done how it ended (nil: the buffer
// is empty between frames, so the reader may wait on the socket again).
func (l *loop) readFrames(c *conn, done chan<- error) {
	for {
		kind, data, err := c.ws.ReadMessage()
		if err != nil {
			done <- err
			return
		}
		var in input
		if kind == websocket.TextMessage {
			in = func(l *loop) { l.node.Receive(c.id, data) }
		} else {
			in = func(l *loop) { l.rejectBinary(c) }
		}
		if !l.submit(in) {
			done <- errLoopGone
			return
		}
		if c.reader == nil || c.reader.Buffered() == 0 {
			done <- nil
			return
		}
	}
}

// ponged extends c's read deadline by a pong wait. It runs on c's reader
// goroutine, for a pong gorilla read or one awaitFrame took.
func (l *loop) ponged(c *conn) {
	c.ws.SetReadDeadline(time.Now().Add(l.server.cfg.PongWait))
	// Checked after extending, and the writer sets closeSent before its
	// own deadline, so that a pong racing the close cannot undo it.
	if c.closeSent.Load() {
		c.ws.SetReadDeadline(time.Now().Add(closeWait))
	}
}

// rejectBinary answers a binary frame. The node only sees text frames, so
// the runtime writes this error itself.
func (l *loop) rejectBinary(c *conn) {
	l.server.metrics.rejectsBinary.Inc()
	if c.nodeGone || c.rejectsPending >= rejectsPendingMax {
		return
	}
	frame := protocol.Error{Type: protocol.TypeError, Code: protocol.CodeBinaryFrame,
		Message: "binary frames are not accepted; send JSON text frames"}
	c.rejectsPending++
	l.enqueue(c, outbound{data: protocol.Encode(frame)})
}

func (l *loop) readerDone(c *conn) {
	c.readerDone = true
	c.closed = true
	c.ws.Close()
	if !c.nodeGone {
		c.nodeGone = true
		l.node.Closed(c.id)
	}
	if !c.writing {
		l.forget(c)
	}
}

// forget drops a connection whose reader and writer have both ended.
func (l *loop) forget(c *conn) {
	delete(l.conns, c.id)
	l.pings.remove(c)
}

func (l *loop) enqueue(c *conn, frame outbound) {
	if c.closed {
		return
	}
	c.queue = append(c.queue, frame)
	l.markDirty(c)
}

func (l *loop) markDirty(c *conn) {
	if !c.dirty {
		c.dirty = true
		l.dirty = append(l.dirty, c)
	}
}

// closeConn carries out the node's request to close a connection: queued
// frames go first (a drain flushes), then the close frame, all by closeBy.
func (l *loop) closeConn(c *conn, closing node.CloseConn) {
	c.nodeGone = true
	if c.closed || c.closing != nil {
		return
	}
	c.closing = &closing
	c.closeBy = time.Now().Add(l.server.cfg.WriteTimeout)
	l.markDirty(c)
}
