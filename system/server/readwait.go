package server

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"syscall"

	"chatlab/system/socket"
)

// An idle connection's reader goroutine parks in socket.WaitReadable, on a
// shallow stack, rather than deep in gorilla's frame reader: the garbage
// collector then shrinks its stack to the minimum, which is most of what an
// idle connection costs. Two things make that safe:
//   - the server owns the connection's read buffer (hijackedReader hands
//     gorilla one it keeps a hold of), so the reader waits on the socket
//     only when that buffer is empty and the last frame was read whole;
//   - pongs, the only frames an idle client sends, are read here at that
//     shallow depth (takePongs), because gorilla handles a control frame
//     inside the read that waits for the next data frame.

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

// awaitFrame parks until c's socket has a frame for gorilla to read,
// consuming any whole pongs that come first. It returns at once when the
// read buffer holds bytes, and returns the socket's error (a passed read
// deadline among them) for the reader to end on.
func (l *loop) awaitFrame(c *conn) error {
	raw, ok := c.ws.NetConn().(syscall.Conn)
	if !ok || c.reader == nil {
		return nil
	}
	for c.reader.Buffered() == 0 {
		if err := socket.WaitReadable(raw); err != nil {
			return err
		}
		if took, err := l.takePong(c, raw); !took || err != nil {
			return err
		}
	}
	return nil
}

// takePong reads a whole pong at the head of c's socket, if one is there,
// and extends the read deadline as gorilla's pong handler would. Anything
// else (data, a pong not yet whole, an end) is left for gorilla.
func (l *loop) takePong(c *conn, raw syscall.Conn) (bool, error) {
	var head [pongPeekBytesMax]byte
	n, err := socket.Peek(raw, head[:])
	if err != nil || n < pongHeaderBytes || head[0] != pongFirstByte || head[1]&maskedBit == 0 {
		return false, nil
	}
	length := int(head[1] & pongLengthMask)
	if length > pongPayloadMax || n < pongHeaderBytes+length {
		return false, nil
	}
	if _, err := c.reader.Discard(pongHeaderBytes + length); err != nil {
		return false, err
	}
	l.ponged(c)
	return true, nil
}
