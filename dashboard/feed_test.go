package dashboard

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
)

// decode reads one encoded event back.
func decode(t *testing.T, line []byte) (Kind, map[string]any) {
	t.Helper()
	var wire struct {
		Kind Kind           `json:"kind"`
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(line, &wire); err != nil {
		t.Fatalf("event %q is not JSON: %v", line, err)
	}
	return wire.Kind, wire.Data
}

// queued takes every event waiting in a subscription, without blocking.
func queued(s *Subscription) (lines [][]byte, open bool) {
	for {
		select {
		case line, ok := <-s.Events:
			if !ok {
				return lines, false
			}
			lines = append(lines, line)
		default:
			return lines, true
		}
	}
}

func TestEncodeWrapsEachKind(t *testing.T) {
	events := []Event{
		Run{Mode: ModeSim, Scenario: "node-restart", State: RunRunning},
		Topology{Nodes: []string{"n1"}, Balancer: "balancer", Redis: "redis"},
		Component{Name: "n1", State: StateDown},
		Stats{TMs: 1000, Connections: map[string]int{"n1": 3}, Latency: &Latency{P50Ms: 2, P99Ms: 9}},
		Fault{AtMs: 8000, Action: "restart", Target: "n1"},
		Check{Name: "no-loss", OK: true},
		Log{TMs: 5, Text: "hello"},
	}
	want := []Kind{KindRun, KindTopology, KindComponent, KindStats, KindFault, KindCheck, KindLog}
	for i, event := range events {
		kind, data := decode(t, Encode(event))
		if kind != want[i] || len(data) == 0 {
			t.Errorf("event %d: kind %q data %v, want kind %q with data", i, kind, data, want[i])
		}
	}
	if _, data := decode(t, Encode(events[3])); data["latency"].(map[string]any)["p99_ms"] != 9.0 {
		t.Errorf("stats latency = %v, want p99_ms 9", data["latency"])
	}
}

func TestPublishNeverWaitsAndDropsTheSubscriberThatFallsBehind(t *testing.T) {
	feed := NewFeed()
	slow, _ := feed.Subscribe()
	fast, _ := feed.Subscribe()
	received := 0
	// If Publish waited on the slow subscriber, this loop would never end.
	for i := range subscriberQueueLenMax + 10 {
		feed.Publish(Log{TMs: int64(i), Text: "line"})
		lines, open := queued(fast)
		if !open {
			t.Fatalf("the subscriber that keeps up was dropped after %d events", i)
		}
		received += len(lines)
	}
	if received != subscriberQueueLenMax+10 {
		t.Errorf("the subscriber that keeps up got %d events, want %d", received, subscriberQueueLenMax+10)
	}
	lines, open := queued(slow)
	if open || len(lines) != subscriberQueueLenMax || !feed.Dropped(slow) {
		t.Errorf("slow subscriber: %d events queued, open %v, dropped %v; want its full queue of %d then closed and dropped",
			len(lines), open, feed.Dropped(slow), subscriberQueueLenMax)
	}
	if feed.Dropped(fast) {
		t.Errorf("the subscriber that keeps up is marked dropped")
	}
	counters := feed.Counters()
	if counters.Dropped != 1 || counters.Subscribers != 1 || counters.Published != subscriberQueueLenMax+10 {
		t.Errorf("counters = %+v, want 1 dropped, 1 subscriber, %d published", counters, subscriberQueueLenMax+10)
	}
	// Unsubscribing a dropped subscription is harmless.
	feed.Unsubscribe(slow)
}

func TestALateSubscriberGetsTheRunRecentEventsThenTheLatestStates(t *testing.T) {
	feed := NewFeed()
	feed.Publish(Run{Mode: ModeSim, Scenario: "node-restart", State: RunRunning})
	feed.Publish(Topology{Nodes: []string{"n1", "n2"}})
	feed.Publish(Component{Name: "n2", State: StateDown})
	feed.Publish(Component{Name: "n1", State: StateDown})
	feed.Publish(Component{Name: "n1", State: StateUp})
	feed.Publish(Check{Name: "order", OK: true})
	feed.Publish(Check{Name: "no-loss", OK: false, Violations: 2})
	for i := range recentLenMax + 5 {
		feed.Publish(Stats{TMs: int64(i)})
	}
	s, ok := feed.Subscribe()
	if !ok {
		t.Fatal("Subscribe refused on an open feed")
	}
	lines, _ := queued(s)
	describe := func(lines [][]byte) []string {
		var got []string
		for _, line := range lines {
			kind, data := decode(t, line)
			got = append(got, fmt.Sprintf("%s:%v%v", kind, data["name"], data["state"]))
		}
		return got
	}
	if got, want := describe(lines[:2]), []string{"run:<nil>running", "topology:<nil><nil>"}; !slices.Equal(got, want) {
		t.Fatalf("replay starts %v, want %v", got, want)
	}
	// The ring kept the last recentLenMax events: the component changes
	// and the first stats fell out of it.
	recent := lines[2 : 2+recentLenMax]
	for i, line := range recent {
		if kind, data := decode(t, line); kind != "stats" || data["t_ms"] != float64(i+5) {
			t.Fatalf("recent event %d is %s at t_ms %v, want stats at %d (oldest first)", i, kind, data["t_ms"], i+5)
		}
	}
	// The latest states end the replay, so they hold after it.
	want := []string{"component:n1up", "component:n2down", "check:no-loss<nil>", "check:order<nil>"}
	if got := describe(lines[2+recentLenMax:]); !slices.Equal(got, want) {
		t.Fatalf("replay ends %v, want %v", got, want)
	}
}

func TestALateSubscriberSeesAComponentGoDownAndComeBack(t *testing.T) {
	feed := NewFeed()
	feed.Publish(Run{Mode: ModeSim, Scenario: "node-restart", State: RunRunning})
	feed.Publish(Topology{Nodes: []string{"n1"}})
	feed.Publish(Component{TMs: 0, Name: "n1", State: StateUp})
	feed.Publish(Stats{TMs: 1000})
	feed.Publish(Component{TMs: 8000, Name: "n1", State: StateDown})
	feed.Publish(Stats{TMs: 9000})
	feed.Publish(Component{TMs: 12000, Name: "n1", State: StateUp})
	s, _ := feed.Subscribe()
	lines, _ := queued(s)
	var got []string
	for _, line := range lines {
		kind, data := decode(t, line)
		got = append(got, fmt.Sprintf("%s@%v:%v", kind, data["t_ms"], data["state"]))
	}
	want := []string{"run@<nil>:running", "topology@<nil>:<nil>", "component@0:up", "stats@1000:<nil>",
		"component@8000:down", "stats@9000:<nil>", "component@12000:up", "component@12000:up"}
	if !slices.Equal(got, want) {
		t.Fatalf("replay = %v, want %v", got, want)
	}
}

func TestANewRunForgetsTheLastRunsPicture(t *testing.T) {
	feed := NewFeed()
	feed.Publish(Run{Mode: ModeSim, Seed: 1, State: RunRunning})
	feed.Publish(Topology{Nodes: []string{"n1"}})
	feed.Publish(Component{Name: "n1", State: StateDown})
	feed.Publish(Log{Text: "first run"})
	feed.Publish(Run{Mode: ModeSim, Seed: 2, State: RunRunning})
	s, _ := feed.Subscribe()
	lines, _ := queued(s)
	if len(lines) != 1 {
		t.Fatalf("replay after a new run holds %d events, want only the new run", len(lines))
	}
	if kind, data := decode(t, lines[0]); kind != KindRun || data["seed"] != 2.0 {
		t.Errorf("replay = %s %v, want the run with seed 2", kind, data)
	}
}

func TestCloseEndsEverySubscriptionAndRefusesNewOnes(t *testing.T) {
	feed := NewFeed()
	s, _ := feed.Subscribe()
	feed.Close()
	if _, open := queued(s); open {
		t.Error("subscription still open after Close")
	}
	if feed.Dropped(s) {
		t.Error("a subscription ended by Close counts as dropped")
	}
	if _, ok := feed.Subscribe(); ok {
		t.Error("Subscribe accepted on a closed feed")
	}
	feed.Publish(Log{Text: "after close"})
	if feed.Counters().Published != 0 {
		t.Error("Publish counted an event on a closed feed")
	}
}
