package server

import (
	"encoding/binary"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Write limits.
const (
	// WriteTimeoutDefault bounds one batch of writes (and a close): a
	// client that stops reading is cut off within it.
	WriteTimeoutDefault = 10 * time.Second
	// writeBatchFramesMax bounds the frames one writer goroutine takes, so
	// Flushed reports arrive while a long queue drains. A batch is also at
	// most a quarter of the node's send queue limit: frames in a batch count
	// as unflushed until it ends, and a client that reads should never
	// reach the limit on that account.
	writeBatchFramesMax = 64
	// closeReasonBytesMax: a close frame's payload is at most 125 bytes,
	// two of them the code.
	closeReasonBytesMax = 123
)

// writeBatch is what one short-lived writer goroutine writes, in order:
// frames, then a ping, then a close frame.
type writeBatch struct {
	frames   []outbound
	ping     bool
	close    bool
	code     int
	reason   string
	deadline time.Time
}

// writeResult is what the writer reports back to the loop.
type writeResult struct {
	counted   int // node frames written
	uncounted int // runtime frames written
	err       error
}

// startWriter hands the connection's next batch to a new writer goroutine.
// An idle connection has no writer and so holds no goroutine and no write
// buffer: the buffer comes from the upgrader's pool for each message.
func (l *loop) startWriter(c *conn) {
	if c.closed {
		c.queue = nil
		return
	}
	if len(c.queue) == 0 && !c.pingDue && c.closing == nil {
		return
	}
	batch := writeBatch{ping: c.pingDue, deadline: time.Now().Add(l.server.cfg.WriteTimeout)}
	frames := min(len(c.queue), l.writeBatchFrames)
	batch.frames = c.queue[:frames:frames]
	c.queue = c.queue[frames:]
	if len(c.queue) == 0 {
		c.queue = nil
		if c.closing != nil {
			batch.close, batch.code, batch.reason = true, c.closing.Code, c.closing.Reason
		}
	}
	if c.closing != nil && c.closeBy.Before(batch.deadline) {
		batch.deadline = c.closeBy
	}
	c.pingDue = false
	c.writing = true
	started := l.server.goroutines.Go(func() {
		result := batch.write(c)
		l.submit(func(l *loop) { l.writeDone(c, batch, result) })
	})
	if !started {
		// The server is closing; the socket is being closed with it.
		c.writing = false
		c.closed = true
	}
}

// write runs on the writer goroutine: the only goroutine writing data
// frames to c.ws while it runs. The batch's frames are framed into one
// buffer and written with one system call (writeFrames); a ping and a close
// frame follow through gorilla.
func (b *writeBatch) write(c *conn) writeResult {
	var result writeResult
	ws := c.ws
	ws.SetWriteDeadline(b.deadline)
	if len(b.frames) > 0 {
		if result.err = writeFrames(ws.NetConn(), b.deadline, b.frames); result.err != nil {
			return result
		}
	}
	for _, frame := range b.frames {
		if frame.counted {
			result.counted++
		} else {
			result.uncounted++
		}
	}
	if b.ping {
		if result.err = ws.WriteControl(websocket.PingMessage, nil, b.deadline); result.err != nil {
			return result
		}
	}
	if b.close {
		reason := b.reason
		if len(reason) > closeReasonBytesMax {
			reason = reason[:closeReasonBytesMax]
		}
		result.err = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(b.code, reason), b.deadline)
		// The reader ends when the peer answers the close, or soon after.
		c.closeSent.Store(true)
		c.setReadDeadline(closeWait)
	}
	return result
}

func (l *loop) writeDone(c *conn, batch writeBatch, result writeResult) {
	c.writing = false
	c.rejectsPending -= result.uncounted
	l.server.metrics.framesWritten.Add(float64(result.counted + result.uncounted))
	if len(batch.frames) > 0 {
		l.server.metrics.frameWrites.Inc()
	}
	if result.counted > 0 && !c.nodeGone {
		l.node.Flushed(c.id, result.counted)
	}
	if result.err != nil {
		l.server.log.Debug("connection write failed", "conn", c.id, "user", c.access.User, "err", result.err)
		c.closed = true
		// The reader wakes to the end and closes the socket.
		shutdown(c.ws.NetConn())
	}
	if batch.close {
		c.closed = true
	}
	if c.readerDone {
		l.forget(c)
		return
	}
	l.startWriter(c)
}

// framesBufferBytesKept bounds the batch buffers kept for reuse: a batch of
// large frames gets a buffer of its own that is dropped after it.
const framesBufferBytesKept = 64 << 10

var framesBuffers = sync.Pool{New: func() any { return new([]byte) }}

// writeFrames writes frames as WebSocket text messages, server to client
// (RFC 6455 5.2: final, unmasked, uncompressed), in one write by deadline.
// Every write to a connection's socket is one call that Go's poller runs
// whole, so these frames and the control frames gorilla writes itself
// (a reader's pong or close answer) never interleave within a frame.
func writeFrames(socket net.Conn, deadline time.Time, frames []outbound) error {
	buffer := framesBuffers.Get().(*[]byte)
	data := (*buffer)[:0]
	for _, frame := range frames {
		data = appendTextFrame(data, frame.data)
	}
	err := socket.SetWriteDeadline(deadline)
	if err == nil {
		_, err = socket.Write(data)
	}
	if cap(data) <= framesBufferBytesKept {
		*buffer = data[:0]
		framesBuffers.Put(buffer)
	}
	return err
}

// appendTextFrame appends one final, unmasked text frame: the header of
// RFC 6455 5.2 (payload length in 7 bits, or 126 and 16 bits, or 127 and 64
// bits), then the payload.
func appendTextFrame(data, payload []byte) []byte {
	const finText = 0x80 | websocket.TextMessage
	switch n := len(payload); {
	case n <= 125:
		data = append(data, finText, byte(n))
	case n <= 0xffff:
		data = append(data, finText, 126, byte(n>>8), byte(n))
	default:
		data = append(data, finText, 127)
		data = binary.BigEndian.AppendUint64(data, uint64(n))
	}
	return append(data, payload...)
}
