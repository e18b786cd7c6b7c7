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
	// Pings every half second against a two-second pong wait: a loaded
	// machine (the race detector, other tests) has 1.5 s to answer each
	// ping, not the 200 ms the default 9/10 would leave. The test is about
	// which client is dropped, not about how fast.
	const pongWait, pingPeriod = 2 * time.Second, 500 * time.Millisecond
	m := miniredis.RunT(t)
	srv := startNode(t, m, "a", func(cfg *Config) {
		cfg.Auth, cfg.Secret = false, nil
		cfg.PongWait, cfg.PingPeriod = pongWait, pingPeriod
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
	// Nine answered pings after the silent client's drop span more than
	// two pong waits, either of which would have dropped the live client
	// had its pongs not counted.
	const pings = int(2*pongWait/pingPeriod) + 1
	for answered := 0; answered < pings; answered++ {
		select {
		case <-pinged:
		case err := <-readerDone:
			t.Fatalf("the live client's connection ended after %d pings: %v", answered, err)
		case <-time.After(testWait):
			t.Fatalf("the live client saw %d pings in %s; want %d", answered, testWait, pings)
		}
	}
	waitConnections(t, srv, 1)
	select {
	case err := <-readerDone:
		t.Fatalf("the live client's connection ended: %v", err)
	default:
	}
}
