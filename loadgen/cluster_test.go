package loadgen

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"chatlab/system/broker"
	"chatlab/system/client"
	"chatlab/system/node"
	"chatlab/system/server"
)

// convergeWait bounds how long a test waits for clients to settle; it is a
// failure deadline, not a speed assertion.
const convergeWait = 30 * time.Second

// testNode is one real node on a shared Redis.
type testNode struct {
	server *server.Server
	broker *broker.Redis
}

func startNode(t *testing.T, id, redisURL string, delivery node.Delivery) *testNode {
	t.Helper()
	b, err := broker.NewRedis(broker.RedisConfig{URL: redisURL, Delivery: delivery})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.Start(context.Background(), server.Config{ID: id, Listen: "127.0.0.1:0", Broker: b,
		Delivery: delivery, Logger: logger, RateBurst: 1000, RatePerSecond: 1000})
	if err != nil {
		t.Fatal(err)
	}
	n := &testNode{server: srv, broker: b}
	t.Cleanup(n.kill)
	return n
}

func (n *testNode) url() string { return "ws://" + n.server.Addr() + "/ws" }

// kill stops the node abruptly: its connections drop without a goodbye.
func (n *testNode) kill() {
	n.server.Close()
	_ = n.broker.Close()
}

// recorder keeps every client's events.
type recorder struct {
	mu     sync.Mutex
	events map[string][]client.Event
}

func newRecorder() *recorder { return &recorder{events: map[string][]client.Event{}} }

func (r *recorder) record(name string, e client.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events[name] = append(r.events[name], e)
}

// delivered returns the ids a client accepted (duplicates excluded) in
// order, and how many duplicates it saw.
func (r *recorder) delivered(name string) (ids []string, duplicates int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events[name] {
		if e.Kind != client.KindDelivered {
			continue
		}
		if e.Duplicate {
			duplicates++
			continue
		}
		ids = append(ids, e.ID)
	}
	return ids, duplicates
}

func (r *recorder) acked() map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	acked := map[string]bool{}
	for _, events := range r.events {
		for _, e := range events {
			if e.Kind == client.KindAcked {
				acked[e.ID] = true
			}
		}
	}
	return acked
}

func startClient(t *testing.T, ctx context.Context, rec *recorder, name string, urls ...string) *Client {
	t.Helper()
	c := NewClient(ClientConfig{Machine: client.Config{User: name, Name: name, ResendAfterMs: 500, BackoffMaxMs: 500},
		Seed: uint64(len(name)), URLs: urls, Record: rec.record})
	go c.Run(ctx)
	if !c.Join("r") {
		t.Fatal("client stopped before joining")
	}
	waitFor(t, func() bool {
		s := c.Snapshot()
		return len(s.Rooms) == 1 && s.Rooms[0].Joined
	}, name+" joined")
	return c
}

func waitFor(t *testing.T, done func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(convergeWait)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// failoverRun is the story: alice on node A and bob on node B send
// into one room; node A is killed mid-traffic; alice reconnects to node B
// and resumes. It returns what each client accepted and the acked ids.
type failoverRun struct {
	alice, bob         []string
	aliceDups, bobDups int
	acked              map[string]bool
}

func runFailover(t *testing.T, delivery node.Delivery) failoverRun {
	redis := miniredis.RunT(t)
	url := "redis://" + redis.Addr()
	nodeA := startNode(t, "a", url, delivery)
	nodeB := startNode(t, "b", url, delivery)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := newRecorder()
	alice := startClient(t, ctx, rec, "alice", nodeA.url(), nodeB.url())
	bob := startClient(t, ctx, rec, "bob", nodeB.url())
	const sendsPerClient = 60
	for i := 0; i < sendsPerClient; i++ {
		alice.Send("r", fmt.Sprintf("alice %d", i))
		bob.Send("r", fmt.Sprintf("bob %d", i))
		if i == sendsPerClient/3 {
			nodeA.kill()
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, c := range []*Client{alice, bob} {
		waitFor(t, func() bool { s := c.Snapshot(); return s.Connected && len(s.Pending) == 0 }, c.Name()+" acked everything")
	}
	if alice.Snapshot().Reconnects == 0 {
		t.Fatal("alice never reconnected: the kill did not land mid-traffic")
	}
	acked := rec.acked()
	if delivery == node.Recover {
		for _, name := range []string{"alice", "bob"} {
			waitFor(t, func() bool { ids, _ := rec.delivered(name); return len(ids) >= len(acked) }, name+" received every acked message")
		}
	} else {
		// Pub/sub has no catch-up, so what has not come yet may still be
		// on its way or lost for good. Redis hands a channel's messages to
		// every subscriber in publish order: once a marker sent after
		// everything else has reached both clients, whatever is missing
		// is lost.
		const marker = "marker after the last send"
		bob.Send("r", marker)
		for _, name := range []string{"alice", "bob"} {
			waitFor(t, func() bool { return rec.deliveredBody(name, marker) != "" }, name+" received the marker")
		}
		markerID := rec.deliveredBody("bob", marker)
		delete(acked, markerID)
		rec.forget(markerID)
	}
	run := failoverRun{acked: acked}
	run.alice, run.aliceDups = rec.delivered("alice")
	run.bob, run.bobDups = rec.delivered("bob")
	return run
}

// deliveredBody returns the id of the message with this body that name
// accepted, or "".
func (r *recorder) deliveredBody(name, body string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events[name] {
		if e.Kind == client.KindDelivered && e.Body == body {
			return e.ID
		}
	}
	return ""
}

// forget drops every event about message id.
func (r *recorder) forget(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, events := range r.events {
		kept := events[:0]
		for _, e := range events {
			if e.ID != id {
				kept = append(kept, e)
			}
		}
		r.events[name] = kept
	}
}

func TestNodeKilledMidTrafficLosesNothingInRecoverMode(t *testing.T) {
	run := runFailover(t, node.Recover)
	if len(run.acked) != 120 {
		t.Fatalf("%d sends acked, want 120", len(run.acked))
	}
	for name, ids := range map[string][]string{"alice": run.alice, "bob": run.bob} {
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("%s got %s twice", name, id)
			}
			seen[id] = true
		}
		for id := range run.acked {
			if !seen[id] {
				t.Errorf("%s lost acked message %s", name, id)
			}
		}
	}
	if run.aliceDups+run.bobDups > 0 {
		t.Logf("duplicates dropped by the clients: alice %d, bob %d", run.aliceDups, run.bobDups)
	}
	if fmt.Sprint(run.alice) != fmt.Sprint(run.bob) {
		t.Fatalf("alice and bob saw different orders:\nalice %v\nbob   %v", run.alice, run.bob)
	}
}

func TestNodeKilledMidTrafficLosesMessagesInPubSubMode(t *testing.T) {
	run := runFailover(t, node.PubSub)
	seen := map[string]bool{}
	for _, id := range run.alice {
		seen[id] = true
	}
	lost := 0
	for id := range run.acked {
		if !seen[id] {
			lost++
		}
	}
	if lost == 0 {
		t.Fatalf("pubsub mode lost nothing for alice across a node kill (%d acked, %d delivered): the lab would show nothing", len(run.acked), len(run.alice))
	}
	t.Logf("pubsub mode: alice lost %d of %d acked messages", lost, len(run.acked))
}

// A client off the network drops its connection and fails its dials; back
// online, it reconnects and resumes with since: it gets what was sent
// meanwhile, once each.
func TestOfflineClientFailsDialsThenResumes(t *testing.T) {
	redis := miniredis.RunT(t)
	n := startNode(t, "a", "redis://"+redis.Addr(), node.Recover)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := newRecorder()
	alice := startClient(t, ctx, rec, "alice", n.url())
	bob := startClient(t, ctx, rec, "bob", n.url())
	alice.SetOffline(true)
	waitFor(t, func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for _, e := range rec.events["alice"] {
			if e.Kind == client.KindDialFailed {
				return true
			}
		}
		return false
	}, "alice's dial failing while offline")
	if alice.Snapshot().Connected {
		t.Fatal("alice is connected while offline")
	}
	const sends = 5
	for i := range sends {
		bob.Send("r", fmt.Sprintf("bob %d", i))
	}
	waitFor(t, func() bool { return len(rec.acked()) == sends }, "bob's sends acked")
	alice.SetOffline(false)
	waitFor(t, func() bool { ids, _ := rec.delivered("alice"); return len(ids) == sends }, "alice resumed")
	if ids, duplicates := rec.delivered("alice"); duplicates != 0 || len(ids) != sends {
		t.Fatalf("alice accepted %v with %d duplicates; want bob's %d sends once each", ids, duplicates, sends)
	}
}
