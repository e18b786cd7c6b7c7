package server

import (
	"time"

	"github.com/gorilla/websocket"
)

// Write limits.
const (
	// writeTimeoutDefault bounds one batch of writes (and a close): a
	// client that stops reading is cut off within it.
	writeTimeoutDefault = 10 * time.Second
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

// write runs on the writer goroutine: the only goroutine writing to c.ws
// while it runs.
func (b *writeBatch) write(c *conn) writeResult {
	var result writeResult
	ws := c.ws
	ws.SetWriteDeadline(b.deadline)
	for _, frame := range b.frames {
		if result.err = ws.WriteMessage(websocket.TextMessage, frame.data); result.err != nil {
			return result
		}
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
		ws.SetReadDeadline(time.Now().Add(closeWait))
	}
	return result
}

func (l *loop) writeDone(c *conn, batch writeBatch, result writeResult) {
	c.writing = false
	c.rejectsPending -= result.uncounted
	l.server.metrics.framesWritten.Add(float64(result.counted + result.uncounted))
	if result.counted > 0 && !c.nodeGone {
		l.node.Flushed(c.id, result.counted)
	}
	if result.err != nil {
		l.server.log.Debug("connection write failed", "conn", c.id, "user", c.user, "err", result.err)
		c.closed = true
		c.ws.Close()
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
