package server

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"syscall"

	"github.com/gorilla/websocket"

	"chatlab/system/socket"
)

// An idle connection has no reader goroutine: its socket waits on the
// process's socket poller (socket.Poller, epoll), and each time it becomes
// readable a short-lived goroutine reads what arrived (readArrived) and arms
// the wait again. gorilla's read path grows a goroutine's stack to 8 KiB
// and a parked goroutine keeps at least 2 KiB, so an idle connection holds
// neither. Three things make that safe:
//   - the server owns the connection's read buffer (hijackedReader hands
//     gorilla one it keeps a hold of), so the wait is armed only when that
//     buffer is empty and the last frame was read whole;
//   - pongs, the only frames an idle client sends, are taken at the head
//     of the socket (takePongs), because gorilla handles a control frame
//     inside the read that waits for the next data frame;
//   - nothing blocks in a read while the socket waits, so its read deadline
//     is kept in conn.readBy too, and the loop shuts the socket's read side
//     once it passes (expireReads), which wakes the wait to its end.
// Where there is no poller, a reader goroutine per connection waits for
// the socket on a shallow stack instead (read).

// hijackedReader is an http.ResponseWriter whose Hijack hands the upgrader
// a read buffer of readBufferBytes that the server keeps (reader), instead
// of net/http's 4 KiB one. The upgrader reuses it as the connection's only
// read buffer (its ReadBufferSize is 0).
type hijackedReader struct {
	http.ResponseWriter
	reader *bufio.Reader
}

// errEarlyData is what a client that sends frames before its upgrade is
// answered with; gorilla answers the same.
var errEarlyData = errors.New("websocket: client sent data before handshake is complete")

func (h *hijackedReader) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hijacker, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("websocket: response does not implement http.Hijacker")
	}
	netConn, rw, err := hijacker.Hijack()
	if err != nil {
		return nil, nil, err
	}
	if rw.Reader.Buffered() > 0 {
		netConn.Close()
		return nil, nil, errEarlyData
	}
	h.reader = bufio.NewReaderSize(netConn, readBufferBytes)
	return netConn, bufio.NewReadWriter(h.reader, rw.Writer), nil
}

// Client frames are masked: a pong with a payload of n bytes (at most 125)
// is 0x8A, 0x80|n, four mask bytes, then the payload.
const (
	pongHeaderBytes  = 6
	pongPayloadMax   = 125
	pongFirstByte    = 0x8A // FIN, opcode 10
	maskedBit        = 0x80
	pongLengthMask   = 0x7F
	pongPeekBytesMax = pongHeaderBytes + pongPayloadMax
)

// watchReads starts c's reads on the process's socket poller. It reports
// false, having started nothing, where there is none; the caller then runs
// read on a goroutine of its own. ended runs once the reads are over and
// the loop has been told (readEnded).
func (l *loop) watchReads(c *conn, ended func()) bool {
	poller, err := socket.SharedPoller()
	raw, ok := c.ws.NetConn().(syscall.Conn)
	if err != nil || !ok || c.reader == nil {
		return false
	}
	_, err = poller.Watch(raw, func(w *socket.Watch) {
		err := l.readArrived(c, raw, false)
		if err == nil {
			if err = w.Arm(); err == nil {
				return
			}
		}
		w.Release()
		l.readEnded(c, err)
		ended()
	})
	return err == nil
}

// read is c's reader where there is no poller: it waits for the socket on a
// shallow stack (socket.WaitReadable) and hands each arrival to a
// short-lived goroutine (readArrived), so that the goroutine it parks never
// grows gorilla's stack.
func (l *loop) read(c *conn) {
	raw, _ := c.ws.NetConn().(syscall.Conn)
	done := make(chan error)
	var err error
	for err == nil {
		if err = socket.WaitReadable(raw); err != nil {
			break
		}
		go func() { done <- l.readArrived(c, raw, true) }()
		err = <-done
	}
	l.readEnded(c, err)
}

// readArrived reads what c has: whole pongs at the head of its socket on a
// shallow stack, anything else with gorilla, each frame submitted to the
// loop, until its read buffer and socket hold nothing more (nil: wait for
// the socket again) or the socket fails or ends. With blind set (no socket
// peek where the platform has none, or a wake the peek did not explain)
// it reads one message with gorilla whatever the peek saw.
func (l *loop) readArrived(c *conn, raw syscall.Conn, blind bool) error {
	for {
		if c.reader != nil && c.reader.Buffered() == 0 {
			left, took, err := l.takePongs(c, raw)
			if err != nil {
				return err
			}
			if left == 0 && (took || !blind) {
				return nil
			}
		}
		blind = false
		kind, data, err := c.ws.ReadMessage()
		if err != nil {
			return err
		}
		var in input
		if kind == websocket.TextMessage {
			in = func(l *loop) { l.node.Receive(c.id, data) }
		} else {
			in = func(l *loop) { l.rejectBinary(c) }
		}
		if !l.submit(in) {
			return errLoopGone
		}
	}
}

// takePongs reads the whole pongs at the head of c's socket, extending the
// read deadline for each as gorilla's pong handler would, and reports how
// many bytes it saw behind them (0: none yet) and whether it took any.
// Anything else (data, a pong not yet whole) is left for gorilla; the
// socket's end is io.EOF.
func (l *loop) takePongs(c *conn, raw syscall.Conn) (int, bool, error) {
	took := false
	for {
		var head [pongPeekBytesMax]byte
		n, err := socket.Peek(raw, head[:])
		if err != nil || n < pongHeaderBytes || head[0] != pongFirstByte || head[1]&maskedBit == 0 {
			return n, took, err
		}
		length := int(head[1] & pongLengthMask)
		if length > pongPayloadMax || n < pongHeaderBytes+length {
			return n, took, nil
		}
		// Straight from the socket, whatever its read deadline: a pong
		// that arrived in time counts however late this runs. The read
		// buffer stays empty.
		if err := socket.Discard(raw, head[:pongHeaderBytes+length]); err != nil {
			return 0, took, err
		}
		took = true
		l.ponged(c)
	}
}
