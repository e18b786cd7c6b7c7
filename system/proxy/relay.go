package proxy

import (
	"errors"
	"net"
	"sync"
	"syscall"
	"time"

	"chatlab/system/balance"
	"chatlab/system/protocol"
	"chatlab/system/socket"
)

// relayBufferBytes is the buffer one direction borrows while bytes flow.
// It covers a whole chat frame (protocol.FrameBytesMax) in one read.
const relayBufferBytes = 16 * 1024

// relayBuffers lends buffers only while data moves: an idle connection holds
// none (see socket.WaitReadable).
var relayBuffers = sync.Pool{New: func() any {
	buffer := make([]byte, relayBufferBytes)
	return &buffer
}}

// Close codes the proxy sends itself.
const (
	// closeGoingAway tells a node its client left without a close frame.
	closeGoingAway = 1001
)

// link is one proxied connection: a client socket and a backend socket,
// with one goroutine copying each way.
type link struct {
	id       balance.ConnID
	backend  string
	proxy    *Proxy
	toClient side // what the backend sends, on its way to the client
	toServer side // what the client sends, on its way to the backend

	mu        sync.Mutex
	pumpsLeft int // starts at 2: one per direction
	closing   bool
	hardClose *time.Timer
}

// side is the writing end of one direction: one writer at a time (the pump
// or an injected close), and where that stream's frames end.
type side struct {
	conn      net.Conn
	masked    bool // frames toward a server are masked
	writeWait time.Duration

	mu      sync.Mutex
	tracker frameTracker
	// pendingClose waits for the frame in progress to end.
	pendingClose []byte
	// closed: the proxy sent its own close frame; relayed bytes that
	// follow are dropped (the peer has been told to go).
	closed bool
}

// relay writes data to the side, or, with a close pending, the end of the
// frame in progress and then the close.
func (s *side) relay(data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	if s.pendingClose != nil {
		data = data[:s.tracker.untilBoundary(data)]
	}
	if err := s.write(data); err != nil {
		return err
	}
	s.tracker.advance(data)
	if s.pendingClose != nil && s.tracker.atBoundary() {
		s.closed = true
		return s.write(s.pendingClose)
	}
	return nil
}

// sendClose writes a close frame of the proxy's own at the next frame
// boundary, unless the stream's sender already sent a close.
func (s *side) sendClose(code int, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.tracker.sawClose || s.pendingClose != nil {
		return nil
	}
	frame := closeFrame(code, reason, s.masked)
	if !s.tracker.atBoundary() {
		s.pendingClose = frame
		return nil
	}
	s.closed = true
	return s.write(frame)
}

func (s *side) write(data []byte) error {
	if len(data) == 0 {
		return nil
	}
	// A peer that stops reading blocks its writer; the deadline cuts it off
	// (as a node cuts off a slow consumer) instead of waiting forever.
	s.conn.SetWriteDeadline(time.Now().Add(s.writeWait))
	_, err := s.conn.Write(data)
	return err
}

// start relays both directions. Where the process has a socket poller
// (socket.SharedPoller), an idle direction has no goroutine: the poller
// runs a pass when its socket is readable. Elsewhere each direction has a
// pump goroutine that waits for its socket.
func (l *link) start() {
	l.relay(l.toServer.conn, &l.toClient, true)
	l.relay(l.toClient.conn, &l.toServer, false)
}

// relay starts one direction: on the poller when there is one and src is
// a socket, else on a pump goroutine of its own.
func (l *link) relay(src net.Conn, dst *side, fromBackend bool) {
	if poller, err := socket.SharedPoller(); err == nil && l.watch(poller, src, dst, fromBackend) == nil {
		return
	}
	go l.pump(src, dst, fromBackend)
}

// watch relays src to dst in passes the poller runs, one per readable
// moment: each reads once, relays what it read and arms src again.
func (l *link) watch(poller *socket.Poller, src net.Conn, dst *side, fromBackend bool) error {
	raw, ok := src.(syscall.Conn)
	if !ok {
		return errors.New("not a socket")
	}
	_, err := poller.Watch(raw, func(watch *socket.Watch) {
		err := relayOnce(src, dst)
		if err == nil {
			err = watch.Arm()
		}
		if err != nil {
			watch.Release()
			l.pumpEnded(fromBackend, err)
		}
	})
	return err
}

// pump copies from src to dst until either fails or ends. It waits for src
// to be readable before borrowing a buffer.
func (l *link) pump(src net.Conn, dst *side, fromBackend bool) {
	raw, _ := src.(syscall.Conn)
	var err error
	// Each pass moves one read's worth; the loop ends with the connection.
	for err == nil {
		if err = socket.WaitReadable(raw); err != nil {
			break
		}
		err = relayOnce(src, dst)
	}
	l.pumpEnded(fromBackend, err)
}

// relayOnce moves one read's worth from src to dst, in a buffer borrowed
// for that read. The error is the read's, or else the write's.
func relayOnce(src net.Conn, dst *side) error {
	buffer := relayBuffers.Get().(*[]byte)
	defer relayBuffers.Put(buffer)
	n, err := src.Read(*buffer)
	if n > 0 {
		if writeErr := dst.relay((*buffer)[:n]); writeErr != nil && err == nil {
			err = writeErr
		}
	}
	return err
}

// pumpEnded closes the link cleanly from the side that ended: the other
// peer gets a close frame if its stream did not carry one (a node that died
// means "reconnect and resume"; a client that vanished means "going away"),
// then a FIN; the other pump ends when that peer hangs up, or at CloseWait.
func (l *link) pumpEnded(fromBackend bool, err error) {
	l.mu.Lock()
	l.pumpsLeft--
	last := l.pumpsLeft == 0
	first := !l.closing
	l.closing = true
	l.mu.Unlock()
	if last {
		l.finish()
		return
	}
	if !first {
		return
	}
	if fromBackend {
		l.proxy.log.Debug("backend side ended", "conn", l.id, "backend", l.backend, "err", errText(err))
		l.toClient.sendClose(protocol.CloseReconnect, "backend gone: reconnect")
		l.toServer.conn.Close()
		closeWrite(l.toClient.conn)
	} else {
		l.proxy.log.Debug("client side ended", "conn", l.id, "backend", l.backend, "err", errText(err))
		l.toServer.sendClose(closeGoingAway, "client gone")
		l.toClient.conn.Close()
		closeWrite(l.toServer.conn)
	}
	l.armHardClose()
}

// shed tells the client to reconnect and resume elsewhere. The client's
// close reply travels on to the node, which then hangs up; CloseWait bounds
// the whole exchange.
func (l *link) shed(reason string) {
	l.toClient.sendClose(protocol.CloseReconnect, reason)
	l.armHardClose()
}

// armHardClose closes both sockets after CloseWait, whatever the peers do.
func (l *link) armHardClose() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.hardClose == nil && l.pumpsLeft > 0 {
		l.hardClose = time.AfterFunc(l.proxy.config.CloseWait, l.abortSockets)
	}
}

// abortSockets ends both directions whatever the peers do: each socket is
// shut down, which wakes its pump or poller wait to an end (a closed
// socket would drop a poller wait without a word); finish closes them.
func (l *link) abortSockets() {
	shutdown(l.toClient.conn)
	shutdown(l.toServer.conn)
}

// shutdown ends both directions of conn without closing it.
func shutdown(conn net.Conn) {
	tcp, ok := conn.(interface {
		CloseRead() error
		CloseWrite() error
	})
	if !ok {
		conn.Close()
		return
	}
	tcp.CloseRead()
	tcp.CloseWrite()
}

// closeSockets closes both sockets once nothing waits on them.
func (l *link) closeSockets() {
	l.toClient.conn.Close()
	l.toServer.conn.Close()
}

// finish runs once both pumps are done.
func (l *link) finish() {
	l.mu.Lock()
	if l.hardClose != nil {
		l.hardClose.Stop()
	}
	l.mu.Unlock()
	l.closeSockets()
	l.proxy.linkClosed(l)
}

// closeWrite sends a FIN after what was written, so the peer reads every
// byte (the close frame included) before it sees the end.
func closeWrite(conn net.Conn) {
	if tcp, ok := conn.(interface{ CloseWrite() error }); ok {
		tcp.CloseWrite()
		return
	}
	conn.Close()
}

func errText(err error) string {
	if err == nil || errors.Is(err, net.ErrClosed) {
		return ""
	}
	return err.Error()
}
