package check

import (
	"strconv"
	"testing"

	"chatlab/system/client"
)

// lagRun: ann (on n1) sends to room r every 100 ms for 20 s; bob (n1) gets
// each 10 ms after its ack, cat (n2) too, except the messages acked in
// [deafFromMs, deafToMs), which reach cat lagMs after their ack (n2 deaf
// to the room, only its slow poll catching up).
func lagRun(deafFromMs, deafToMs, lagMs int64) *historyBuilder {
	b := newHistory().greeted("ann", "n1").greeted("bob", "n1").greeted("cat", "n2")
	b.join("ann", "r", 0, "e1").join("bob", "r", 0, "e1").join("cat", "r", 0, "e1")
	type delivery struct {
		atMs int64
		name string
		seq  uint64
		id   string
	}
	var pending []delivery
	flush := func(untilMs int64) {
		kept := pending[:0]
		for _, d := range pending {
			if d.atMs < untilMs {
				b.at(d.atMs).deliver(d.name, "r", d.seq, d.id, "e1")
			} else {
				kept = append(kept, d)
			}
		}
		pending = kept
	}
	for at, seq := int64(100), uint64(1); at < 20000; at, seq = at+100, seq+1 {
		flush(at)
		id := "ann-" + strconv.FormatInt(at, 10)
		b.at(at).send("ann", "r", id).ack("ann", "r", id, seq)
		catLag := int64(10)
		if at >= deafFromMs && at < deafToMs {
			catLag = lagMs
		}
		pending = append(pending, delivery{at + 10, "bob", seq, id}, delivery{at + catLag, "cat", seq, id})
	}
	flush(1 << 40)
	sortByTime(b.h)
	return b
}

// lagFacts: a partition of target from 2 s to 5 s.
func lagFacts(target string) Facts {
	return Facts{Faults: []FaultSpan{{Action: "partition", Target: target, FromMs: 2000, ToMs: 5000}}}.withDefaults()
}

func TestTheDeliveryLagCheckPassesLagOnlyNearAFault(t *testing.T) {
	// n2 lags while it is cut off, and has everything by 1 s after the
	// heal; it lags for the recovery time after (5 s) too: excused.
	c := checkDeliveryLag(lagRun(2000, 5000, 900).h, lagFacts("n2-redis"))
	expectViolations(t, c, 0, "")
	if c.Detail == "" {
		t.Fatal("no detail")
	}
	expectViolations(t, checkDeliveryLag(lagRun(5000, 9900, 1800).h, lagFacts("n2-redis")), 0, "")
}

func TestTheDeliveryLagCheckHoldsACatchUpToTheHeal(t *testing.T) {
	// n2 is cut off from 2 s to 5 s and delivers what it missed 2.5 s
	// after it appeared (its slow poll fills the gap): what appeared after
	// 3.5 s still lacks at 6 s, 1 s after the heal.
	c := checkDeliveryLag(lagRun(2000, 5000, 2500).h, lagFacts("n2-redis"))
	expectViolations(t, c, 14, "late-catch-up")
	if v := c.Examples[0]; v.Client != "cat" || v.Seq != 36 {
		t.Fatalf("first violation %+v: want cat's seq 36 (ann-3600, delivered at 6.1 s)", v)
	}
	// A fault on Redis reaches n2 as well.
	expectViolations(t, checkDeliveryLag(lagRun(2000, 5000, 2500).h, lagFacts("redis")), 14, "late-catch-up")
	// One that never heals leaves its catch-ups unjudged.
	facts := lagFacts("n2-redis")
	facts.Faults[0].ToMs = -1
	expectViolations(t, checkDeliveryLag(lagRun(2000, 5000, 2500).h, facts), 0, "")
	// Faults that follow one another: judged from the last heal (a Redis
	// pause to 6 s): only what still lacks at 7 s is late.
	facts = lagFacts("n2-redis")
	facts.Faults = append(facts.Faults, FaultSpan{Action: "pause", Target: "redis", FromMs: 5500, ToMs: 6000})
	expectViolations(t, checkDeliveryLag(lagRun(2000, 5000, 2500).h, facts), 4, "late-catch-up")
}

func TestTheDeliveryLagCheckCatchesANodeDeafToARoomAwayFromFaults(t *testing.T) {
	// From 12 s to 14 s n2 lags 1.8 s behind: 20 stale deliveries to cat.
	expectViolations(t, checkDeliveryLag(lagRun(12000, 14000, 1800).h, lagFacts("n2-redis")), 20, "stale-delivery")
	// A fault on another node's link does not excuse n2.
	expectViolations(t, checkDeliveryLag(lagRun(2000, 9900, 1800).h, lagFacts("n1-redis")), 79, "stale-delivery")
	// One on Redis itself reaches every node.
	expectViolations(t, checkDeliveryLag(lagRun(5000, 9900, 1800).h, lagFacts("redis")), 0, "")
	// A lag within the bound is no violation.
	expectViolations(t, checkDeliveryLag(lagRun(12000, 14000, 900).h, lagFacts("n2-redis")), 0, "")
	facts := lagFacts("n2-redis")
	facts.DeliveryLagMaxMs = 500
	expectViolations(t, checkDeliveryLag(lagRun(12000, 14000, 900).h, facts), 20, "stale-delivery")
}

func TestTheDeliveryLagCheckLeavesOutCatchUpsAndStalledReceivers(t *testing.T) {
	// cat reconnects at 12 s and is replayed what it missed: a catch-up.
	b := lagRun(20000, 20000, 0)
	var h History
	for _, r := range b.h {
		if r.Client == "cat" && r.Kind == client.KindDelivered && r.AtMs >= 12000 && r.AtMs < 15000 {
			continue // offline: replayed below
		}
		h = append(h, r)
	}
	replay := newHistory().at(12000).disconnect("cat").at(15000).greeted("cat", "n3").join("cat", "r", 0, "e1")
	for at, seq := int64(11900), uint64(119); at < 15000; at, seq = at+100, seq+1 {
		replay.deliver("cat", "r", seq, "ann-"+strconv.FormatInt(at, 10), "e1")
	}
	h = append(h, replay.h...)
	sortByTime(h)
	expectViolations(t, checkDeliveryLag(h, lagFacts("n2-redis")), 0, "")

	// A stalled receiver's backlog is its own.
	stalled := lagRun(12000, 14000, 1800)
	stalled.h = append(stalled.h, Record{Client: "cat", Event: client.Event{Kind: client.KindStalled, AtMs: 50}})
	sortByTime(stalled.h)
	expectViolations(t, checkDeliveryLag(stalled.h, lagFacts("n2-redis")), 0, "")
}

// sortByTime orders records by AtMs, keeping the order of equal times.
func sortByTime(h History) {
	for i := 1; i < len(h); i++ {
		for j := i; j > 0 && h[j].AtMs < h[j-1].AtMs; j-- {
			h[j], h[j-1] = h[j-1], h[j]
		}
	}
}
