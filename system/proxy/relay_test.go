package proxy

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

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

// A client that stops reading while its backend writes megabytes, then
// reads again, gets every frame in order: the backend-to-client direction
// blocks on the client and resumes when it reads (a stalled reader's
// backlog drains through the balancer).
func TestAStalledReaderGetsEverythingOnceItReadsAgain(t *testing.T) {
	n1 := newEchoBackend(t, "n1")
	p := startProxy(t, balance.Config{}, balance.Backend{Name: "n1", Addr: n1.addr()})
	ws, _ := dial(t, p, "user=slow")
	defer ws.Close()
	const frames = 5000 // 5 MB: far beyond the sockets' buffers
	if err := ws.WriteMessage(websocket.TextMessage, []byte("flood:"+strconv.Itoa(frames))); err != nil {
		t.Fatal(err)
	}
	// The stall: the client reads nothing for a while (the fault, not a
	// synchronization); the backend's writes back up to it meanwhile.
	time.Sleep(time.Second)
	for i := range frames {
		ws.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("frame %d of %d: %v", i, frames, err)
		}
		if got, _, _ := strings.Cut(string(data), " "); got != strconv.Itoa(i) {
			t.Fatalf("frame %d carries %q", i, got)
		}
	}
}
