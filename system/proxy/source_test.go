package proxy

import (
	"net/http"
	"testing"

	"github.com/gorilla/websocket"

	"chatlab/system/balance"
)

// One address that opens connections as fast as it can spends its own
// share of new connections, not the allowance every client shares.
func TestOneAddressSpendsOnlyItsShareOfNewConnections(t *testing.T) {
	n1 := newEchoBackend(t, "n1")
	p := startProxy(t, balance.Config{NewConnectionsPerSecondMax: 1000, NewConnectionsPerSourcePerSecondMax: 1,
		NewConnectionsPerSourceBurst: 3}, balance.Backend{Name: "n1", Addr: n1.addr()})
	for range 3 {
		dial(t, p, "user=mallory")
	}
	_, response, err := websocket.DefaultDialer.Dial("ws://"+p.Addr()+"/ws?user=mallory", nil)
	if err == nil || response == nil || response.StatusCode != http.StatusServiceUnavailable || response.Header.Get("Retry-After") != "1" {
		t.Fatalf("fourth connection from one address within a second: %v %v", response, err)
	}
	snapshot := p.State().Balancer
	if snapshot.Counters.RefusedSourceRateLimited != 1 || snapshot.Counters.RefusedRateLimited != 0 {
		t.Fatalf("counters %+v", snapshot.Counters)
	}
}
