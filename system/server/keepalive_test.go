package server

import (
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gorilla/websocket"
)

// The node pings every connection; one that answers stays, one that never
// answers (it does not read, so it never sees the pings) is dropped after
// PongWait.
func TestKeepalive(t *testing.T) {
	// A pong wait long enough that a loaded machine (the race detector,
	// other tests) still answers every ping in time: the test is about
	// which client is dropped, not about how fast.
	const pongWait = 2 * time.Second
	m := miniredis.RunT(t)
	srv := startNode(t, m, "a", func(cfg *Config) {
		cfg.Auth, cfg.Secret = false, nil
		cfg.PongWait = pongWait
	})
	alive := dial(t, srv, userQuery("alive"))
	// pinged carries one token per ping the live client answers.
	pinged := make(chan struct{}, 64)
	alive.ws.SetPingHandler(func(data string) error {
		select {
		case pinged <- struct{}{}:
		default:
		}
		return alive.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	// Reading is what answers pings; the reader ends when the test closes
	// the connection.
	readerDone := make(chan error, 1)
	go func() {
		alive.ws.SetReadDeadline(time.Now().Add(4 * testWait))
		_, _, err := alive.ws.ReadMessage()
		readerDone <- err
	}()
	silent := rawConnect(t, srv.Addr(), "silent")
	defer silent.Close()

	// The silent client is dropped once its pong wait runs out.
	waitConnections(t, srv, 1)
	for len(pinged) > 0 {
		<-pinged
	}
	// Pings go out at 9/10 of the pong wait: three answered pings after the
	// silent client's drop span more than two pong waits, either of which
	// would have dropped the live client had its pongs not counted.
	for answered := 0; answered < 3; answered++ {
		select {
		case <-pinged:
		case err := <-readerDone:
			t.Fatalf("the live client's connection ended after %d pings: %v", answered, err)
		case <-time.After(testWait):
			t.Fatalf("the live client saw %d pings in %s; want 3", answered, testWait)
		}
	}
	waitConnections(t, srv, 1)
	select {
	case err := <-readerDone:
		t.Fatalf("the live client's connection ended: %v", err)
	default:
	}
}
