package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gorilla/websocket"

	"chatlab/system/protocol"
)

// A client that stops reading is cut off, once its unwritten frames pass
// the node's limit or a write outlasts the write timeout, whichever comes
// first; the sender is unaffected.
func TestSlowConsumerIsCutOff(t *testing.T) {
	m := miniredis.RunT(t)
	srv := startNode(t, m, "a", func(cfg *Config) {
		cfg.SendQueueLenMax = 64
		cfg.RateBurst, cfg.RatePerSecond = 100_000, 100_000
		// Long enough that the sender, which reads all the while, never
		// outlasts it on a loaded machine; the slow client passes the send
		// queue's limit long before.
		cfg.WriteTimeout = 2 * time.Second
	})
	slow := dialSmallWindow(t, srv, "token="+token(t, "slow"))
	slow.join("lobby")
	sender := dial(t, srv, "token="+token(t, "sender"))
	sender.join("lobby")

	// The sender waits for each ack, so it never falls behind itself; the
	// slow client reads nothing until it has been cut off.
	body := strings.Repeat("x", protocol.BodyBytesMax)
	const sendsMax = 4000 // ~32 MiB: far more than loopback socket buffers hold
	for i := 0; i < sendsMax && connections(t, srv) == 2; i++ {
		sender.write(protocol.Send{Type: protocol.TypeSend, Room: "lobby", ID: fmt.Sprint(i), Body: body})
		sender.nextOf(protocol.TypeAck)
	}
	if connections(t, srv) != 1 {
		t.Fatalf("the client that does not read was not cut off after %d sends", sendsMax)
	}
	sender.write(protocol.Send{Type: protocol.TypeSend, Room: "lobby", ID: "last", Body: "still served"})
	if ack := sender.nextOf(protocol.TypeAck); ack.ID != "last" {
		t.Fatalf("sender got %+v; want the ack of last", ack)
	}
	// What reached the slow client's buffers is readable, then the
	// connection ends.
	slow.ws.SetReadDeadline(time.Now().Add(testWait))
	for {
		if _, _, err := slow.ws.ReadMessage(); err != nil {
			if netErr, ok := err.(net.Error); ok && netErr.Timeout() {
				t.Fatal("the slow client's connection was not closed")
			}
			break
		}
	}
}

// dialSmallWindow connects with a small receive buffer, so that a client
// that stops reading fills up after little traffic.
func dialSmallWindow(t *testing.T, srv *Server, query string) *client {
	t.Helper()
	// The buffer is set before connecting: shrinking it on an open
	// connection makes the kernel drop data in flight and back off.
	small := &net.Dialer{Control: func(_, _ string, raw syscall.RawConn) error {
		var err error
		controlErr := raw.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return errors.Join(controlErr, err)
	}}
	dialer := websocket.Dialer{NetDialContext: small.DialContext}
	ws, _, err := dialer.Dial("ws://"+srv.Addr()+"/ws?"+query, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	c := &client{t: t, ws: ws}
	c.nextOf(protocol.TypeWelcome)
	return c
}

func connections(t *testing.T, srv *Server) int {
	t.Helper()
	snapshot, ok := srv.loop.requestSnapshot(context.Background())
	if !ok {
		t.Fatal("no snapshot: the loop has stopped")
	}
	return snapshot.Connections
}
