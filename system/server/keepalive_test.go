package server

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gorilla/websocket"
)

// The node pings every connection; one that answers stays, one that never
// answers (it does not read, so it never sees the pings) is dropped after
// PongWait.
func TestKeepalive(t *testing.T) {
	const pongWait = 500 * time.Millisecond
	m := miniredis.RunT(t)
	srv := startNode(t, m, "a", func(cfg *Config) {
		cfg.Auth, cfg.Secret = false, nil
		cfg.PongWait = pongWait
	})
	alive := dial(t, srv, userQuery("alive"))
	var pings atomic.Int64
	alive.ws.SetPingHandler(func(data string) error {
		pings.Add(1)
		return alive.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	// Reading is what answers pings; the reader ends when the test closes
	// the connection.
	readerDone := make(chan error, 1)
	go func() {
		alive.ws.SetReadDeadline(time.Now().Add(testWait))
		_, _, err := alive.ws.ReadMessage()
		readerDone <- err
	}()
	silent := rawConnect(t, srv.Addr(), "silent")
	defer silent.Close()

	waitConnections(t, srv, 1)
	// Four more pong waits: the answering client is still there.
	time.Sleep(4 * pongWait)
	waitConnections(t, srv, 1)
	if got := pings.Load(); got < 4 {
		t.Fatalf("the live client saw %d pings in %s; want at least 4", got, 4*pongWait)
	}
	select {
	case err := <-readerDone:
		t.Fatalf("the live client's connection ended: %v", err)
	default:
	}
}
