package balance

import (
	"fmt"
	"math"
	"testing"
)

func TestRoundRobinTakesTurnsAndSkipsDown(t *testing.T) {
	h := newHarness(t, Config{Policy: RoundRobin})
	var order []string
	for i := range 6 {
		order = append(order, h.backend[h.connect(fmt.Sprint("u", i))])
	}
	if got := fmt.Sprint(order); got != "[n1 n2 n3 n1 n2 n3]" {
		t.Fatalf("order %s", got)
	}
	h.failHealth("n2")
	order = nil
	for i := range 4 {
		order = append(order, h.backend[h.connect(fmt.Sprint("v", i))])
	}
	if got := fmt.Sprint(order); got != "[n1 n3 n1 n3]" {
		t.Fatalf("order with n2 down %s", got)
	}
}

func TestLeastConnectionsEvensOutAfterRandomCloses(t *testing.T) {
	h := newHarness(t, Config{Policy: LeastConnections})
	random := seeded(1)
	var conns []ConnID
	for i := range 300 {
		conns = append(conns, h.connect(fmt.Sprint("u", i)))
	}
	if lowest, highest := spread(h.loads()); lowest != 100 || highest != 100 {
		t.Fatalf("300 connections spread %d..%d, want 100 each", lowest, highest)
	}
	// Close a random 100 (skewing the backends), then open 100 more.
	random.Shuffle(len(conns), func(i, j int) { conns[i], conns[j] = conns[j], conns[i] })
	for _, conn := range conns[:100] {
		h.close(conn)
	}
	for i := range 100 {
		h.connect(fmt.Sprint("w", i))
	}
	if lowest, highest := spread(h.loads()); highest-lowest > 1 {
		t.Fatalf("after churn spread %d..%d (%v), want within one", lowest, highest, h.loads())
	}
}

func TestLeastConnectionsCountsPendingPicks(t *testing.T) {
	b := newBalancer(t, Config{Policy: LeastConnections})
	picked := map[string]int{}
	// A burst of picks before any dial completes must still spread.
	for conn := range ConnID(30) {
		name, ok, _ := b.Pick(conn, "u")
		if !ok {
			t.Fatal("refused")
		}
		picked[name]++
	}
	if picked["n1"] != 10 || picked["n2"] != 10 || picked["n3"] != 10 {
		t.Fatalf("burst of 30 pending picks went %v", picked)
	}
	for _, backend := range b.Snapshot().Backends {
		if backend.Pending != 10 || backend.Connections != 0 {
			t.Fatalf("%s: pending %d open %d", backend.Name, backend.Pending, backend.Connections)
		}
	}
}

func TestHashUserSpreadsDistinctUsers(t *testing.T) {
	// A huge load factor switches the bound off: this is the ring alone.
	h := newHarness(t, Config{Policy: HashUser, HashLoadFactor: 1000})
	for i := range 3000 {
		h.connect(fmt.Sprint("user", i))
	}
	for name, load := range h.loads() {
		if math.Abs(float64(load)-1000) > 100 {
			t.Errorf("%s holds %d of 3000 users, want 1000 within 10%%", name, load)
		}
	}
	t.Logf("ring alone: %v", h.loads())
}

func TestHashUserKeepsAUserOnItsHome(t *testing.T) {
	h := newHarness(t, Config{Policy: HashUser})
	for i := range 30 {
		h.connect(fmt.Sprint("other", i))
	}
	first := h.connect("alice")
	home := h.backend[first]
	h.close(first)
	for range 5 {
		conn := h.connect("alice")
		if h.backend[conn] != home {
			t.Fatalf("alice moved from %s to %s", home, h.backend[conn])
		}
		h.close(conn)
	}
}

func TestHashUserBoundsAHotSetOfUsers(t *testing.T) {
	h := newHarness(t, Config{Policy: HashUser, HashLoadFactor: 1.25})
	// Find three users that share one home, the worst case for the ring.
	unbounded := newHarness(t, Config{Policy: HashUser, HashLoadFactor: 1000})
	var hot []string
	homes := map[string][]string{}
	for i := 0; len(hot) == 0; i++ {
		user := fmt.Sprint("hot", i)
		home := unbounded.backend[unbounded.connect(user)]
		homes[home] = append(homes[home], user)
		if len(homes[home]) == 3 {
			hot = homes[home]
		}
	}
	// Each hot user opens 100 connections (bots, tabs), interleaved.
	for range 100 {
		for _, user := range hot {
			h.connect(user)
		}
	}
	bound := int(math.Ceil(1.25 * 300 / 3))
	for name, load := range h.loads() {
		if load > bound {
			t.Errorf("%s carries %d, over the bound %d", name, load, bound)
		}
	}
	_, highest := spread(h.loads())
	if highest != bound {
		t.Errorf("the hot users' home carries %d, want it filled to the bound %d", highest, bound)
	}
	t.Logf("300 connections of 3 users on one home: %v (bound %d)", h.loads(), bound)
}

func TestHashUserMovesOnlyTheUsersOfAFailedBackend(t *testing.T) {
	config := Config{Policy: HashUser, HashLoadFactor: 1000}
	before := newHarness(t, config)
	after := newHarness(t, config)
	after.failHealth("n2")
	moved := 0
	for i := range 600 {
		user := fmt.Sprint("user", i)
		was := before.backend[before.connect(user)]
		now := after.backend[after.connect(user)]
		if was != "n2" && now != was {
			t.Fatalf("%s moved from %s to %s though %s is up", user, was, now, was)
		}
		if was == "n2" {
			moved++
		}
	}
	if after.loads()["n2"] != 0 || moved == 0 {
		t.Fatalf("n2 down yet carries %d; %d users moved", after.loads()["n2"], moved)
	}
}
