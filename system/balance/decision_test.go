package balance

import (
	"reflect"
	"testing"
)

// The decision log replays the balancer's view: every pick with its
// backend's state, every health change, drain and shed, in order.
func TestTheDecisionLogListsPicksWithTheBackendsStateInOrder(t *testing.T) {
	b := newBalancer(t, Config{Policy: RoundRobin, ShedPerSecondMax: 100, DialDownAfter: 1})
	if first := b.Ready().Decisions; len(first) != 1 || first[0].Kind != DecidedStart ||
		first[0].Policy != RoundRobin || first[0].ConnectionsMax <= 0 {
		t.Fatalf("a new balancer's log: %+v, want one start naming the policy and the cap", first)
	}
	b.Tick(10)
	if name, ok, _ := b.Pick(1, "ann"); !ok || name != "n1" {
		t.Fatalf("first pick: %q %v", name, ok)
	}
	b.Opened(1)
	b.DialFailed(mustPick(t, b, 2, "bob"))
	retry, ok, _ := b.Pick(2, "bob")
	if !ok {
		t.Fatal("retry refused")
	}
	b.Drain("n1")
	b.Tick(20)
	got := b.Ready().Decisions
	up := func(name string, load int) PickState { return PickState{Name: name, Load: load, Up: true} }
	want := []Decision{
		{Kind: DecidedPick, AtMs: 10, Backend: "n1", Conn: 1, User: "ann", Up: true,
			Backends: []PickState{up("n1", 0), up("n2", 0), up("n3", 0)}},
		{Kind: DecidedPick, AtMs: 10, Backend: "n2", Conn: 2, User: "bob", Up: true,
			Backends: []PickState{up("n1", 1), up("n2", 0), up("n3", 0)}, Cursor: 1},
		{Kind: DecidedDown, AtMs: 10, Backend: "n2", Reason: string(ReasonDialFailed)},
		{Kind: DecidedPick, AtMs: 10, Backend: retry, Conn: 2, User: "bob", Up: true,
			Backends: []PickState{up("n1", 1), {Name: "n2"}, up("n3", 0)}, Cursor: 2, Avoid: "n2"},
		{Kind: DecidedDrain, AtMs: 10, Backend: "n1"},
		{Kind: DecidedShed, AtMs: 20, Backend: "n1", Conn: 1, User: "ann", Reason: string(ShedDrain)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decisions:\n got %+v\nwant %+v", got, want)
	}
}

func mustPick(t *testing.T, b *Balancer, conn ConnID, user string) ConnID {
	t.Helper()
	if _, ok, refusal := b.Pick(conn, user); !ok {
		t.Fatalf("pick for %s refused: %s", user, refusal)
	}
	return conn
}
