package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"chatlab/system/balance"
	"chatlab/system/node"
	"chatlab/system/proxy"
	"chatlab/system/server"
)

// upNode is a node's poll answer, built from the real /state type so the
// Watcher's field names are checked against it.
func upNode(t *testing.T, name string, connections int, publishes, deliveries uint64, linkUp bool) nodePoll {
	t.Helper()
	state := server.State{
		Node:    node.Snapshot{ID: name, Connections: connections, Counters: node.Counters{Publishes: publishes, Deliveries: deliveries}},
		Runtime: server.RuntimeState{BrokerLinkUp: linkUp},
	}
	poll := nodePoll{Name: name, OK: true}
	roundTrip(t, state, &poll.State)
	return poll
}

func roundTrip(t *testing.T, from, into any) {
	t.Helper()
	data, err := json.Marshal(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, into); err != nil {
		t.Fatal(err)
	}
}

// describe renders events compactly for comparisons.
func describe(events []Event) string {
	var parts []string
	for _, event := range events {
		switch e := event.(type) {
		case Component:
			parts = append(parts, fmt.Sprintf("%s=%s%v", e.Name, e.State, e.PartitionedFrom))
		case Stats:
			parts = append(parts, fmt.Sprintf("stats:%.0f/%.0f%v", e.SendsPerS, e.DeliveriesPerS, e.Connections))
		default:
			parts = append(parts, string(event.Kind()))
		}
	}
	return strings.Join(parts, " ")
}

func TestObserveReportsChangesOnceAndRatesFromCounterGrowth(t *testing.T) {
	s := newWatchState()
	rounds := []struct {
		poll poll
		want string
	}{
		{poll{TMs: 0, Nodes: []nodePoll{upNode(t, "n1", 2, 100, 300, true), upNode(t, "n2", 1, 50, 80, true)}},
			"n1=up[] n2=up[] redis=up[] stats:0/0map[n1:2 n2:1]"},
		// Half a second later: 30 sends and 60 deliveries more, nothing changed.
		{poll{TMs: 500, Nodes: []nodePoll{upNode(t, "n1", 2, 120, 340, true), upNode(t, "n2", 1, 60, 100, true)}},
			"stats:60/120map[n1:2 n2:1]"},
		// n1 stops answering; n2 loses its Redis link, so Redis looks down.
		{poll{TMs: 1500, Nodes: []nodePoll{{Name: "n1"}, upNode(t, "n2", 0, 70, 100, false)}},
			"n1=down[] n2=up[redis] redis=down[] stats:10/0map[n1:0 n2:0]"},
		// n1 is back with fresh counters: all of them count as new.
		{poll{TMs: 2500, Nodes: []nodePoll{upNode(t, "n1", 1, 5, 7, true), upNode(t, "n2", 3, 70, 100, true)}},
			"n1=up[] n2=up[] redis=up[] stats:0/0map[n1:1 n2:3]"},
	}
	for i, round := range rounds {
		if got := describe(s.observe(round.poll)); got != round.want {
			t.Errorf("round %d:\n got %s\nwant %s", i, got, round.want)
		}
	}
}

func TestObserveSeesTheBalancerAndItsLinksToNodes(t *testing.T) {
	s := newWatchState()
	var seen proxy.State
	seen.Balancer.Backends = []balance.BackendState{{Name: "n1", Up: false}, {Name: "n2", Up: true}}
	balancer := &balancerPoll{OK: true}
	roundTrip(t, seen, &balancer.State)
	draining := upNode(t, "n2", 0, 0, 0, true)
	draining.State.Runtime.Draining = true
	got := describe(s.observe(poll{TMs: 0, Nodes: []nodePoll{upNode(t, "n1", 0, 0, 0, true), draining}, Balancer: balancer}))
	want := "n1=up[balancer] n2=draining[] " +
		"balancer=up[] redis=up[] stats:0/0map[n1:0 n2:0]"
	if got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
	got = describe(s.observe(poll{TMs: 1000, Nodes: []nodePoll{{Name: "n1"}, {Name: "n2"}}, Balancer: &balancerPoll{}}))
	want = "n1=down[] n2=down[] balancer=down[] stats:0/0map[n1:0 n2:0]"
	if got != want {
		t.Errorf("with everything down (Redis unknown, so unchanged):\n got %s\nwant %s", got, want)
	}
}

// stateServer answers /state with a node's state while up is true.
func stateServer(t *testing.T, name string, up *atomic.Bool) *httptest.Server {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/state" || !up.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		json.NewEncoder(w).Encode(upNode(t, name, 4, 10, 20, true).State)
	}))
	t.Cleanup(server.Close)
	return server
}

func TestTheWatcherPublishesWhatTheClustersStateEndpointsSay(t *testing.T) {
	var n1Up, n2Up atomic.Bool
	n1Up.Store(true)
	n2Up.Store(true)
	n1 := stateServer(t, "n1", &n1Up)
	n2 := stateServer(t, "n2", &n2Up)
	feed := NewFeed()
	subscription, _ := feed.Subscribe()
	// Polls come often, but a slow answer (a loaded machine) is never
	// taken for a down node: only the 503 of a stopped one is.
	watcher, err := NewWatcher(Options{Feed: feed, PollInterval: 20 * time.Millisecond, PollTimeout: sseWait, Nodes: []Target{
		{"n1", strings.TrimPrefix(n1.URL, "http://")}, {"n2", strings.TrimPrefix(n2.URL, "http://")}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { watcher.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	// next returns the next event of kind, skipping others.
	next := func(kind Kind) map[string]any {
		timeout := time.After(sseWait)
		for {
			select {
			case line := <-subscription.Events:
				if got, data := decode(t, line); got == kind {
					return data
				}
			case <-timeout:
				t.Fatalf("no %s event", kind)
			}
		}
	}
	if run := next(KindRun); run["mode"] != "watch" {
		t.Errorf("run = %v, want mode watch", run)
	}
	if topology := next(KindTopology); fmt.Sprint(topology["nodes"]) != "[n1 n2]" || topology["redis"] != "redis" {
		t.Errorf("topology = %v", topology)
	}
	for _, want := range []string{"n1 up", "n2 up", "redis up"} {
		if got := next(KindComponent); fmt.Sprint(got["name"], " ", got["state"]) != want {
			t.Errorf("component = %v, want %s", got, want)
		}
	}
	if stats := next(KindStats); fmt.Sprint(stats["connections"]) != "map[n1:4 n2:4]" {
		t.Errorf("stats = %v, want 4 connections on each node", stats)
	}
	n2Up.Store(false)
	if got := next(KindComponent); got["name"] != "n2" || got["state"] != "down" {
		t.Errorf("after n2 stops answering: component = %v, want n2 down", got)
	}
	n2Up.Store(true)
	if got := next(KindComponent); got["name"] != "n2" || got["state"] != "up" {
		t.Errorf("after n2 answers again: component = %v, want n2 up", got)
	}
}

func TestNewWatcherRefusesNothingToWatchAndClashingNames(t *testing.T) {
	for _, opts := range []Options{
		{},
		{Nodes: []Target{{"n1", "127.0.0.1:1"}, {"n1", "127.0.0.1:2"}}},
		{Nodes: []Target{{"redis", "127.0.0.1:1"}}},
		{Nodes: []Target{{"n1", ""}}},
	} {
		if _, err := NewWatcher(opts); err == nil {
			t.Errorf("NewWatcher(%+v) accepted", opts.Nodes)
		}
	}
}
