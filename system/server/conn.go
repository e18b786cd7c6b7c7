package server

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"chatlab/system/node"
	"chatlab/system/protocol"
	"chatlab/system/socket"
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

// conn is one WebSocket connection. The loop owns every field but ws,
// reader, readBy and closeSent; the reads (one goroutine at a time) and the
// current writer goroutine use ws, and it is closed by the loop
// (readerDone) or, once the loop has stopped, by the reads.
type conn struct {
	id     node.ConnID
	access node.Access // its user and what its credentials allow, handed to the node
	ws     *websocket.Conn
	// reader is ws's read buffer (see hijackedReader): while it is empty
	// between frames, the reads wait on the socket itself.
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
	// readBy is when the socket's read deadline passes, in nanoseconds
	// from clockBase; readers set it, the loop reads it (expireReads),
	// which sets readExpired once it has shut the socket's read side.
	readBy      atomic.Int64
	readExpired bool
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

// startReading sets what gorilla's reads of c keep to: the read limit
// (over it gorilla sends close 1009 and the read fails), the pong wait, and
// the pong handler for pongs gorilla reads itself. It runs before the loop
// learns of c, which then holds c to its read deadline (expireReads).
func (l *loop) startReading(c *conn) {
	c.ws.SetReadLimit(protocol.FrameBytesMax)
	c.setReadDeadline(l.server.cfg.PongWait)
	c.ws.SetPongHandler(func(string) error {
		l.ponged(c)
		return nil
	})
}

// readEnded tells the loop that c's reads are over; it closes c's socket
// itself once the loop has stopped (Close shut the socket down to wake the
// reads, and nothing else closes it).
func (l *loop) readEnded(c *conn, err error) {
	err = readEndError(c, err)
	if err != errLoopGone {
		l.server.log.Debug("connection read ended", "conn", c.id, "user", c.access.User, "err", err)
	}
	if !l.submit(func(l *loop) { l.readerDone(c) }) {
		c.ws.Close()
	}
}

// errLoopGone ends a reader whose loop no longer takes inputs.
var errLoopGone = errors.New("the loop has stopped")

// ponged extends c's read deadline by a pong wait. It runs on c's reader,
// for a pong gorilla read or one takePongs took.
func (l *loop) ponged(c *conn) {
	c.setReadDeadline(l.server.cfg.PongWait)
	// Checked after extending, and the writer sets closeSent before its
	// own deadline, so that a pong racing the close cannot undo it.
	if c.closeSent.Load() {
		c.setReadDeadline(closeWait)
	}
}

// clockBase is what conn.readBy counts from: a monotonic reading, so that
// a change of the wall clock moves no deadline.
var clockBase = time.Now()

// setReadDeadline gives c's socket wait more to stay silent, from now: on
// the socket itself, for gorilla's reads, and in readBy, which the loop
// checks while the socket waits on the poller (expireReads).
func (c *conn) setReadDeadline(wait time.Duration) {
	c.readBy.Store(int64(time.Since(clockBase) + wait))
	c.ws.SetReadDeadline(time.Now().Add(wait))
}

// expireReads ends the reads of every connection silent past its read
// deadline: it shuts the socket's read side down, which wakes a poller
// wait (or a reader's) to the end. A socket with bytes waiting is left to
// its reads, which may come late on a loaded machine: what arrived in time
// counts, as it does for a read blocked on the socket, and gorilla's reads
// keep the deadline on the socket itself. It runs every tick, so a
// deadline is kept to within tickInterval; the check is one load per
// connection.
func (l *loop) expireReads() {
	now := int64(time.Since(clockBase))
	for _, c := range l.conns {
		if c.readExpired || c.readerDone || c.readBy.Load() >= now {
			continue
		}
		if raw, ok := c.ws.NetConn().(syscall.Conn); ok {
			var head [1]byte
			if n, _ := socket.Peek(raw, head[:]); n > 0 {
				continue
			}
		}
		c.readExpired = true
		shutdownRead(c.ws.NetConn())
	}
}

// readEndError is the error a read that ended reports: a socket that ended
// past its read deadline was shut by the loop for it (expireReads).
func readEndError(c *conn, err error) error {
	if err == io.EOF && c.readBy.Load() < int64(time.Since(clockBase)) {
		return os.ErrDeadlineExceeded
	}
	return err
}

// shutdown ends both directions of conn without closing it, and
// shutdownRead its reading side: a poller's wait on a closed socket would
// be dropped without a word, while a shut-down one wakes it to its end, so
// the reader that wakes closes the socket (readerDone, readEnded). A conn
// that cannot be shut down is closed.
func shutdown(conn net.Conn) {
	if tcp, ok := conn.(interface{ CloseWrite() error }); ok {
		tcp.CloseWrite()
	}
	shutdownRead(conn)
}

func shutdownRead(conn net.Conn) {
	if tcp, ok := conn.(interface{ CloseRead() error }); ok {
		tcp.CloseRead()
		return
	}
	conn.Close()
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
