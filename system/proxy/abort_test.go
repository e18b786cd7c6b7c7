package proxy

import (
	"net"
	"sync"
	"testing"

	"chatlab/system/balance"
)

// A client that resets its socket right after sending its upgrade cancels
// its own request; the dial the balancer made for it fails with that
// cancellation, which says nothing about the backend. Bursts of such
// clients (with a bad credential, which the backend refuses when one does
// get through) must leave every healthy backend up. Health checks are
// spaced out of the way: only dials are under test.
func TestAbortedUpgradesNeverTakeAHealthyBackendDown(t *testing.T) {
	n1, n2 := newEchoBackend(t, "n1"), newEchoBackend(t, "n2")
	p := startProxy(t, balance.Config{Policy: balance.RoundRobin, HealthIntervalMs: 60_000},
		balance.Backend{Name: "n1", Addr: n1.addr()}, balance.Backend{Name: "n2", Addr: n2.addr()})
	const bursts, perBurst = 6, 400
	request := []byte("GET /ws?user=intruder HTTP/1.1\r\nHost: " + p.Addr() + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	for range bursts {
		var wg sync.WaitGroup
		for range perBurst {
			wg.Go(func() { abortUpgrade(p.Addr(), request) })
		}
		wg.Wait()
	}
	for _, name := range []string{"n1", "n2"} {
		if state := backendState(p, name); !state.Up || state.Counters.WentDown != 0 {
			t.Errorf("%s after %d aborted upgrades: %+v", name, bursts*perBurst, state)
		}
	}
	// And a well-behaved client is served.
	if _, welcome := dial(t, p, "user=alice"); welcome != "welcome from n1" && welcome != "welcome from n2" {
		t.Fatalf("welcome %q", welcome)
	}
}

// abortUpgrade sends request and resets the connection at once (linger 0:
// RST, not FIN).
func abortUpgrade(addr string, request []byte) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		// The listen backlog overflowed: that client never arrived.
		return
	}
	conn.Write(request)
	conn.(*net.TCPConn).SetLinger(0)
	conn.Close()
}
