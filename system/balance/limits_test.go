package balance

import (
	"fmt"
	"testing"
)

func TestConnectionsPerBackendCap(t *testing.T) {
	h := newHarness(t, Config{Policy: HashUser, ConnectionsPerBackendMax: 2})
	var conns []ConnID
	for i := range 6 {
		conns = append(conns, h.connect(fmt.Sprint("u", i)))
	}
	if _, ok, refusal := h.b.Pick(100, "late"); ok || refusal != RefusedFull {
		t.Fatalf("seventh pick: ok=%v refusal %q", ok, refusal)
	}
	h.close(conns[0])
	h.connect("late")
	for name, load := range h.loads() {
		if load > 2 {
			t.Fatalf("%s over the cap: %d", name, load)
		}
	}
}

func TestNewConnectionRateLimit(t *testing.T) {
	b := newBalancer(t, Config{NewConnectionsPerSecondMax: 5, NewConnectionsBurst: 5})
	conn := ConnID(0)
	picks := func() (accepted int) {
		// Offer far more than the bucket can hold: a reconnect storm.
		for range 50 {
			conn++
			if _, ok, refusal := b.Pick(conn, "u"); ok {
				accepted++
			} else if refusal != RefusedRateLimited {
				t.Fatalf("refusal %q", refusal)
			}
		}
		return accepted
	}
	steps := []struct {
		nowMs    int64
		accepted int
	}{
		{0, 5},     // the full burst
		{100, 0},   // half a token
		{200, 1},   // one token in 200 ms at 5/s
		{1200, 5},  // a second's worth
		{60000, 5}, // never more than the burst
	}
	for _, step := range steps {
		b.Tick(step.nowMs)
		if got := picks(); got != step.accepted {
			t.Fatalf("at %d ms accepted %d, want %d", step.nowMs, got, step.accepted)
		}
	}
	if got := b.Snapshot().Counters.RefusedRateLimited; got != 250-16 {
		t.Fatalf("rate limited %d", got)
	}
}

func TestConfigRejectsNonsense(t *testing.T) {
	cases := map[string]Config{
		"no backends":     {},
		"duplicate name":  {Backends: []Backend{{"n1", "a:1"}, {"n1", "b:1"}}},
		"missing address": {Backends: []Backend{{"n1", ""}}},
		"unknown policy":  {Backends: threeBackends(), Policy: "random"},
		"load factor":     {Backends: threeBackends(), HashLoadFactor: 0.9},
		"negative cap":    {Backends: threeBackends(), ConnectionsPerBackendMax: -1},
	}
	for name, config := range cases {
		if _, err := New(config); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestAdmitSourceLimitsEachAddressAlone(t *testing.T) {
	b := newBalancer(t, Config{NewConnectionsPerSourcePerSecondMax: 2, NewConnectionsPerSourceBurst: 2})
	for range 2 {
		if ok, _ := b.AdmitSource("10.0.0.1"); !ok {
			t.Fatal("within the burst")
		}
	}
	if ok, refusal := b.AdmitSource("10.0.0.1"); ok || refusal != RefusedSourceRateLimited {
		t.Fatalf("over the burst: %v %q", ok, refusal)
	}
	if ok, _ := b.AdmitSource("10.0.0.2"); !ok {
		t.Fatal("another address was refused")
	}
	// Half a second refills one token; a full second refills the bucket,
	// and the address is forgotten.
	b.Tick(500)
	if ok, _ := b.AdmitSource("10.0.0.1"); !ok {
		t.Fatal("no token after half a second")
	}
	b.Tick(2000)
	if len(b.sources) != 0 {
		t.Fatalf("%d addresses kept after their buckets refilled", len(b.sources))
	}
	if b.Snapshot().Counters.RefusedSourceRateLimited != 1 {
		t.Fatalf("counters %+v", b.Snapshot().Counters)
	}
}
