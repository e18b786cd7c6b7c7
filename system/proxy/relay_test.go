package proxy

import (
	"testing"

	"chatlab/system/balance"
)

// A client told to reconnect that never answers the close, on a link where
// nothing moves, is cut off after CloseWait: both directions end (an idle
// direction waits on the socket poller, which a closed socket would leave
// waiting forever) and the link is gone from the balancer's count.
func TestShedClientThatNeverAnswersIsCutOffAfterCloseWait(t *testing.T) {
	n1 := newEchoBackend(t, "n1")
	p := startProxy(t, balance.Config{}, balance.Backend{Name: "n1", Addr: n1.addr()})
	ws, _ := dial(t, p, "user=silent")
	defer ws.Close()
	eventually(t, "the link counted", func() bool { return backendState(p, "n1").Connections == 1 })
	// The client reads nothing from here on, so it never answers the
	// proxy's close 4000.
	if !p.DrainBackend("n1") {
		t.Fatal("no backend n1")
	}
	eventually(t, "the silent client's link to end", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.links) == 0
	})
}
