package balance

import (
	"fmt"
	"testing"
)

// TestHealthTransitionsStepByStep drives one backend through a script of
// check results and checks its state after every step.
func TestHealthTransitionsStepByStep(t *testing.T) {
	b := newBalancer(t, Config{HealthDownAfter: 3, HealthUpAfter: 2})
	steps := []struct {
		ok         bool
		up         bool
		transition string // "" for none
	}{
		{ok: false, up: true},
		{ok: false, up: true},
		{ok: true, up: true}, // a good check resets the failures
		{ok: false, up: true},
		{ok: false, up: true},
		{ok: false, up: false, transition: "down checks_failed"},
		{ok: false, up: false},
		{ok: true, up: false},
		{ok: false, up: false}, // a failure resets the good run
		{ok: true, up: false},
		{ok: true, up: true, transition: "up checks_passed"},
		{ok: true, up: true},
	}
	for i, step := range steps {
		b.HealthResult("n2", step.ok)
		state := b.Snapshot().Backends[1]
		if state.Up != step.up {
			t.Fatalf("step %d (ok=%v): up=%v, want %v", i, step.ok, state.Up, step.up)
		}
		got := ""
		for _, transition := range b.Ready().Transitions {
			direction := "down"
			if transition.Up {
				direction = "up"
			}
			got += fmt.Sprintf("%s %s", direction, transition.Reason)
			if transition.Backend != "n2" {
				t.Fatalf("step %d: transition of %s", i, transition.Backend)
			}
		}
		if got != step.transition {
			t.Fatalf("step %d: transitions %q, want %q", i, got, step.transition)
		}
	}
	counters := b.Snapshot().Backends[1].Counters
	if counters.WentDown != 1 || counters.CameUp != 1 {
		t.Fatalf("counters %+v", counters)
	}
}

func TestHealthChecksEveryIntervalOneInFlight(t *testing.T) {
	b := newBalancer(t, Config{HealthIntervalMs: 1000})
	b.Tick(0)
	if got := fmt.Sprint(b.Ready().HealthChecks); got != "[n1 n2 n3]" {
		t.Fatalf("first tick checks %s", got)
	}
	b.Tick(999)
	if checks := b.Ready().HealthChecks; len(checks) != 0 {
		t.Fatalf("checks before the interval: %v", checks)
	}
	// n2's check is still out: it is not checked twice at once.
	b.HealthResult("n1", true)
	b.HealthResult("n3", true)
	b.Tick(1000)
	if got := fmt.Sprint(b.Ready().HealthChecks); got != "[n1 n3]" {
		t.Fatalf("second interval checks %s", got)
	}
	b.HealthResult("n2", true)
	b.HealthResult("n1", true)
	b.HealthResult("n3", true)
	b.Tick(2000)
	if got := fmt.Sprint(b.Ready().HealthChecks); got != "[n1 n2 n3]" {
		t.Fatalf("third interval checks %s", got)
	}
}

func TestRepeatedDialFailuresMarkDownAndTheRetryGoesElsewhere(t *testing.T) {
	b := newBalancer(t, Config{Policy: RoundRobin, NewConnectionsPerSecondMax: 1, NewConnectionsBurst: 1,
		Backends: []Backend{{Name: "n1", Addr: "a:1"}, {Name: "n2", Addr: "a:2"}}})
	first, _, _ := b.Pick(1, "alice")
	b.DialFailed(1)
	// One failed dial is not enough to take a backend out...
	if ready := b.Ready(); len(ready.Transitions) != 0 {
		t.Fatalf("one failed dial: transitions %+v", ready.Transitions)
	}
	// ...but the retry (spending no token: the bucket held one) avoids it.
	second, ok, refusal := b.Pick(1, "alice")
	if !ok || second == first {
		t.Fatalf("retry went to %q (ok=%v %s), first was %q", second, ok, refusal, first)
	}
	// The retry fails too: a second failure for n2 alone, so both stay up.
	b.DialFailed(1)
	b.Closed(1)
	if up := upBackends(b); up != 2 {
		t.Fatalf("%d backends up after one failed dial each, want 2", up)
	}
	b.Tick(1000)
	// n1 fails again (round-robin is back on it): two in a row, down.
	if name, _, _ := b.Pick(2, "bob"); name != first {
		t.Fatalf("pick %q, want %q", name, first)
	}
	b.DialFailed(2)
	ready := b.Ready()
	if len(ready.Transitions) != 1 || ready.Transitions[0].Backend != first || ready.Transitions[0].Reason != ReasonDialFailed {
		t.Fatalf("transitions %+v", ready.Transitions)
	}
	b.Closed(2)
	snapshot := b.Snapshot()
	if snapshot.Counters.DialFailures != 3 || snapshot.Counters.Picks != 3 {
		t.Fatalf("counters %+v", snapshot.Counters)
	}
	for _, backend := range snapshot.Backends {
		if backend.Pending != 0 || backend.Connections != 0 {
			t.Fatalf("%s left with pending %d open %d", backend.Name, backend.Pending, backend.Connections)
		}
	}
}

func TestAnAcceptedConnectionResetsTheFailedDials(t *testing.T) {
	b := newBalancer(t, Config{Policy: RoundRobin, Backends: []Backend{{Name: "n1", Addr: "a:1"}}, NewConnectionsPerSecondMax: 10})
	for conn := range ConnID(4) {
		b.Pick(conn, "alice")
		if conn%2 == 0 {
			b.DialFailed(conn)
			b.Closed(conn)
		} else {
			b.Opened(conn)
		}
	}
	if up := upBackends(b); up != 1 {
		t.Fatal("failures with a success between them took the backend down")
	}
}

func TestPicksPerConnectionAreBounded(t *testing.T) {
	b := newBalancer(t, Config{Policy: RoundRobin})
	defer func() {
		if recover() == nil {
			t.Fatal("a third pick for one connection did not panic")
		}
	}()
	b.Pick(2, "bob")
	b.DialFailed(2)
	b.Pick(2, "bob")
	b.DialFailed(2)
	b.Pick(2, "bob")
}

func TestDownBackendsRefuseWithNoBackend(t *testing.T) {
	h := newHarness(t, Config{})
	for _, name := range []string{"n1", "n2", "n3"} {
		h.failHealth(name)
	}
	if _, ok, refusal := h.b.Pick(1, "alice"); ok || refusal != RefusedNoBackend {
		t.Fatalf("pick with all down: ok=%v refusal %q", ok, refusal)
	}
	h.passHealth("n3")
	if h.backend[h.connect("alice")] != "n3" {
		t.Fatal("the one backend up did not take the connection")
	}
	if h.b.Snapshot().Counters.RefusedNoBackend != 1 {
		t.Fatalf("counters %+v", h.b.Snapshot().Counters)
	}
}

func upBackends(b *Balancer) int {
	up := 0
	for _, backend := range b.Snapshot().Backends {
		if backend.Up {
			up++
		}
	}
	return up
}
