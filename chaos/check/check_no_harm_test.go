package check

import (
	"strconv"
	"strings"
	"testing"

	"chatlab/system/client"
	"chatlab/system/protocol"
)

// harmRun: ann sends to room r every 200 ms from 0.2 s to 20 s; bob and
// cat get each one 10 ms later, except those sent in [slowFromMs,
// slowToMs), which reach them slowMs later.
func harmRun(slowFromMs, slowToMs, slowMs int64) *historyBuilder {
	b := newHistory().connect("ann").connect("bob").connect("cat")
	b.join("ann", "r", 0, "e1").join("bob", "r", 0, "e1").join("cat", "r", 0, "e1")
	type delivery struct {
		atMs int64
		name string
		seq  uint64
		id   string
	}
	var pending []delivery
	for at, seq := int64(200), uint64(1); at < 20000; at, seq = at+200, seq+1 {
		id := "ann-" + strconv.FormatInt(at, 10)
		b.at(at).send("ann", "r", id).ack("ann", "r", id, seq)
		lag := int64(10)
		if at >= slowFromMs && at < slowToMs {
			lag = slowMs
		}
		pending = append(pending, delivery{at + lag, "bob", seq, id}, delivery{at + lag + 1, "cat", seq, id})
	}
	for _, d := range pending {
		b.at(d.atMs).deliver(d.name, "r", d.seq, d.id, "e1")
	}
	sortByTime(b.h)
	return b
}

// harmFacts: a join flood from 4 s to 12 s.
func harmFacts(decisions ...BalancerDecision) Facts {
	return Facts{Faults: []FaultSpan{{Action: "join-flood", Target: "balancer", FromMs: 4000, ToMs: 12000}},
		Decisions: decisions}.withDefaults()
}

func TestTheNoHarmCheckPassesACleanAbuse(t *testing.T) {
	c := checkNoHarm(harmRun(0, 0, 0).h, harmFacts(BalancerDecision{Kind: "start", AtMs: 0}))
	expectViolations(t, c, 0, "")
	if want := "40 well-behaved sends judged"; !strings.Contains(c.Detail, want) {
		t.Errorf("detail %q lacks %q", c.Detail, want)
	}
	// Slow sends outside the abuse are not its doing.
	expectViolations(t, checkNoHarm(harmRun(14000, 18000, 5000).h, harmFacts()), 0, "")
	// Nor are slow sends during another fault (or its recovery), abuse or not.
	facts := harmFacts()
	facts.Faults = append(facts.Faults, FaultSpan{Action: "kill", Target: "n1", FromMs: 3000, ToMs: 5000})
	expectViolations(t, checkNoHarm(harmRun(5000, 10000, 5000).h, facts), 0, "")
	// Without an abuse there is nothing to judge.
	if c := checkNoHarm(harmRun(5000, 10000, 5000).h, Facts{}.withDefaults()); !c.OK || c.Detail != "no abuse in the run" {
		t.Errorf("no abuse: %+v", c)
	}
}

func TestTheNoHarmCheckFlagsSlowSendsDuringTheAbuse(t *testing.T) {
	c := checkNoHarm(harmRun(4000, 12000, 3000).h, harmFacts())
	expectViolations(t, c, 1, "slow-during-abuse")
}

func TestTheNoHarmCheckFlagsRefusedAndLostSends(t *testing.T) {
	b := harmRun(0, 0, 0)
	b.at(6000).send("bob", "r", "bob-1").
		event("bob", client.Event{Kind: client.KindError, Code: protocol.CodeUnavailable, ID: "bob-1", Room: "r", Message: "publish failed"}).
		refused("bob", "r", "bob-1", protocol.CodeUnavailable)
	b.at(7000).send("cat", "r", "cat-1") // never acked
	b.at(8000).send("bob", "r", "bob-2").ack("bob", "r", "bob-2", 99)
	sortByTime(b.h)
	c := checkNoHarm(b.h, harmFacts())
	if c.OK || c.Violations != 4 {
		t.Fatalf("want 4 violations (refused, given up, unacked, undelivered): %+v", c)
	}
	kinds := map[string]int{}
	for _, v := range c.Examples {
		kinds[v.Kind]++
	}
	for _, kind := range []string{"send-refused", "send-given-up", "send-unacked", "send-undelivered"} {
		if kinds[kind] != 1 {
			t.Errorf("%s: %d, want 1 (%v)", kind, kinds[kind], kinds)
		}
	}
}

func TestTheNoHarmCheckFlagsRefusedDialsAndNodesMarkedDown(t *testing.T) {
	b := harmRun(0, 0, 0)
	b.at(9000).event("bob", client.Event{Kind: client.KindDialFailed})
	b.at(13000).event("cat", client.Event{Kind: client.KindDialFailed}) // within harmAfterMs of the end
	b.at(19000).event("cat", client.Event{Kind: client.KindDialFailed}) // long after: not the abuse's
	sortByTime(b.h)
	expectViolations(t, checkNoHarm(b.h, harmFacts()), 2, "dial-refused")
	decisions := []BalancerDecision{{Kind: "start"}, {Kind: "down", AtMs: 6000, Backend: "n2", Reason: "dial_failed"},
		{Kind: "down", AtMs: 2000, Backend: "n1", Reason: "health"}}
	c := checkNoHarm(harmRun(0, 0, 0).h, harmFacts(decisions...))
	expectViolations(t, c, 1, "node-marked-down")
	// A node taken down by a fault of its own is that fault's doing.
	facts := harmFacts(decisions...)
	facts.Faults = append(facts.Faults, FaultSpan{Action: "pause", Target: "n2", FromMs: 5000, ToMs: 7000})
	expectViolations(t, checkNoHarm(harmRun(0, 0, 0).h, facts), 0, "")
}

// A client whose network drops its connection redials at once; a second
// drop that lands while that dial is still in flight (the balancer and a
// node took it, the answer is on its way) fails the dial. The run cut it,
// as it cut the first connection: it is not a dial the abuse refused
// (sim seed 74 of abuse-connflood: c005 dropped at 4.610 s and again at
// 4.650 s, mid-dial). A dial that fails with no drop of the client's own
// is still a refusal, even right after one that was cut.
func TestTheNoHarmCheckLeavesOutDialsTheClientsOwnDropCut(t *testing.T) {
	b := harmRun(0, 0, 0)
	dropped := client.Event{Kind: client.KindDropped}
	b.at(6000).event("bob", dropped).event("bob", client.Event{Kind: client.KindDisconnected, CloseCode: 1006})
	b.at(6040).event("bob", dropped).event("bob", client.Event{Kind: client.KindDialFailed})
	b.at(6100).connect("bob")
	sortByTime(b.h)
	c := checkNoHarm(b.h, harmFacts())
	expectViolations(t, c, 0, "")
	if want := "0 dials refused (1 cut by the client's own drop)"; !strings.Contains(c.Detail, want) {
		t.Errorf("detail %q lacks %q", c.Detail, want)
	}

	b = harmRun(0, 0, 0)
	b.at(6000).event("bob", dropped).event("bob", client.Event{Kind: client.KindDisconnected, CloseCode: 1006})
	b.at(6040).event("bob", dropped).event("bob", client.Event{Kind: client.KindDialFailed})
	b.at(6300).event("bob", client.Event{Kind: client.KindDialFailed}) // the next dial: refused
	b.at(7000).event("cat", dropped).event("cat", client.Event{Kind: client.KindDisconnected, CloseCode: 1006})
	b.at(7100).event("cat", client.Event{Kind: client.KindDialFailed}) // its redial: refused
	sortByTime(b.h)
	expectViolations(t, checkNoHarm(b.h, harmFacts()), 2, "dial-refused")
}
