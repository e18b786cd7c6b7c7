package local

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// A drain must finish within its timeout: a node whose client never
// answers the close is still waiting when a short drain timeout passes,
// and Stop (SIGTERM: the node drains) says so; with no client the same
// drain finishes in time.
func TestDrainThatOverrunsItsTimeoutIsAnError(t *testing.T) {
	c := startCluster(t, Config{Nodes: []string{"n1"}, NoBalancer: true,
		NodeArgs: append([]string{"--drain-timeout", "100ms"}, fastNodeArgs...)})
	ctx, cancel := context.WithTimeout(context.Background(), convergeWait)
	defer cancel()
	url := c.NodeURLs()[0] + "?user=mute"
	// The client never reads again, so the node's close goes unanswered
	// for the runtime's close wait, far longer than the drain timeout.
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The welcome comes from the node's loop: once it is read, the node
	// holds the connection and its drain has to close it.
	conn.SetReadDeadline(time.Now().Add(convergeWait))
	if _, frame, err := conn.ReadMessage(); err != nil || !strings.Contains(string(frame), `"welcome"`) {
		t.Fatalf("first frame %q, %v; want the welcome", frame, err)
	}
	if err := c.Stop(ctx, "n1"); !errors.Is(err, ErrDrainOverran) {
		t.Fatalf("drain with a client that never answers: %v; want ErrDrainOverran", err)
	}
	if err := c.StartMember(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(ctx, "n1"); err != nil {
		t.Fatalf("drain with no client: %v", err)
	}
}
