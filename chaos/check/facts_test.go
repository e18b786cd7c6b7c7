package check

import (
	"sort"
	"strings"
	"testing"

	"chatlab/system/client"
	"chatlab/system/protocol"
)

func (b *historyBuilder) closed(name, node string, code int) *historyBuilder {
	return b.event(name, client.Event{Kind: client.KindDisconnected, CloseCode: code, Node: node})
}

func (b *historyBuilder) own(name string, kind client.EventKind) *historyBuilder {
	return b.event(name, client.Event{Kind: kind})
}

func (b *historyBuilder) greeted(name, node string) *historyBuilder {
	b.event(name, client.Event{Kind: client.KindConnected})
	return b.event(name, client.Event{Kind: client.KindWelcome, Node: node, From: name})
}

// A run with one of each cause: a drain, a killed node, a dropped
// connection, a stall, a balancer shed; each close carries its code.
func closesHistory(drainCode int) *historyBuilder {
	b := newHistory()
	for _, name := range []string{"ann", "bob", "cat", "dan", "eve"} {
		b.greeted(name, map[string]string{"ann": "n1", "bob": "n2", "cat": "n3", "dan": "n3", "eve": "n2"}[name])
	}
	b.at(3000).closed("ann", "n1", drainCode)                                               // n1 drains at 3s
	b.at(6000).closed("bob", "n2", closeAbnormal)                                           // n2 killed at 6s
	b.at(7000).own("cat", client.KindDropped).closed("cat", "n3", closeAbnormal)            // the workload's reconnect
	b.at(8000).own("dan", client.KindStalled)                                               // a slow consumer...
	b.at(12000).own("dan", client.KindReading).closed("dan", "n3", protocol.CloseReconnect) // ...cut off
	b.at(9000).closed("eve", "n2", protocol.CloseReconnect)                                 // shed
	return b
}

var closesFacts = Facts{
	Faults:    []FaultSpan{{Action: "drain", Target: "n1", FromMs: 2990, ToMs: 5000}, {Action: "kill", Target: "n2", FromMs: 5990, ToMs: -1}},
	Decisions: []BalancerDecision{{Kind: "start"}, {Kind: "shed", AtMs: 8990, Backend: "n2", User: "eve", Reason: "rebalance"}},
}

func TestCloseCodesPassWhenEachCloseCarriesItsCausesCode(t *testing.T) {
	c := checkCloseCodes(byClient(closesHistory(protocol.CloseReconnect).h), closesFacts.withDefaults())
	expectViolations(t, c, 0, "")
}

func TestCloseCodesCatchADrainThatClosesWithTheWrongCode(t *testing.T) {
	c := checkCloseCodes(byClient(closesHistory(closeNormal).h), closesFacts.withDefaults())
	expectViolations(t, c, 1, "wrong-close-code")
	if c.Examples[0].Client != "ann" {
		t.Fatalf("blamed %+v, want ann's close", c.Examples[0])
	}
}

func TestCloseCodesCatchACloseNothingExplains(t *testing.T) {
	b := closesHistory(protocol.CloseReconnect)
	b.at(19000).greeted("cat", "n3").at(20000).closed("cat", "n3", protocol.CloseReconnect) // a node cutting off a reader for no reason
	c := checkCloseCodes(byClient(b.h), closesFacts.withDefaults())
	expectViolations(t, c, 1, "unexplained-close")
}

// On real hosts a node may cut off a reader the machine's load slowed:
// the close says so (protocol.ReasonSlowConsumer) and is explained there.
// In the simulator, where a client reads at once unless stalled, the same
// cut stays a violation, as does, anywhere, a 4000 with another reason.
func TestCloseCodesExplainASlowReaderCutOnRealHostsOnly(t *testing.T) {
	cut := func(reason string) *historyBuilder {
		b := closesHistory(protocol.CloseReconnect)
		return b.at(19000).greeted("cat", "n3").at(20000).event("cat", client.Event{Kind: client.KindDisconnected,
			CloseCode: protocol.CloseReconnect, CloseReason: reason, Node: "n3"})
	}
	real := closesFacts
	real.HostsMayLag = true
	expectViolations(t, checkCloseCodes(byClient(cut(protocol.ReasonSlowConsumer).h), real.withDefaults()), 0, "")
	expectViolations(t, checkCloseCodes(byClient(cut(protocol.ReasonSlowConsumer).h), closesFacts.withDefaults()), 1, "unexplained-close")
	expectViolations(t, checkCloseCodes(byClient(cut("draining: reconnect elsewhere").h), real.withDefaults()), 1, "unexplained-close")
}

// A node whose Redis link is down beyond its grace moves its clients with
// 4000: explained on that node while its link (or Redis itself) is
// faulted; on another node, or with another code, it is not.
func TestCloseCodesExplainAMoveOffANodeThatLostRedis(t *testing.T) {
	moved := func(node string, code int) *historyBuilder {
		return newHistory().greeted("ann", node).at(9000).closed("ann", node, code)
	}
	partition := Facts{Faults: []FaultSpan{{Action: "partition", Target: "n1-redis", FromMs: 6000, ToMs: 14000}}}
	restart := Facts{Faults: []FaultSpan{{Action: "redis-restart", Target: "redis", FromMs: 6000, ToMs: 10000}}}
	expectViolations(t, checkCloseCodes(byClient(moved("n1", protocol.CloseReconnect).h), partition.withDefaults()), 0, "")
	expectViolations(t, checkCloseCodes(byClient(moved("n2", protocol.CloseReconnect).h), restart.withDefaults()), 0, "")
	outage := Facts{Faults: []FaultSpan{{Action: "pubsub-kill", Target: "redis", FromMs: 6000, ToMs: 10000}}}
	expectViolations(t, checkCloseCodes(byClient(moved("n3", protocol.CloseReconnect).h), outage.withDefaults()), 0, "")
	expectViolations(t, checkCloseCodes(byClient(moved("n2", protocol.CloseReconnect).h), partition.withDefaults()), 1, "unexplained-close")
	expectViolations(t, checkCloseCodes(byClient(moved("n1", protocol.ClosePolicy).h), partition.withDefaults()), 1, "wrong-close-code")
	late := newHistory().greeted("ann", "n1").at(30000).closed("ann", "n1", protocol.CloseReconnect)
	expectViolations(t, checkCloseCodes(byClient(late.h), partition.withDefaults()), 1, "unexplained-close")
}

func TestCloseCodesCatchAStalledClientCutOffWithTheWrongCode(t *testing.T) {
	b := newHistory().greeted("dan", "n3").at(1000).own("dan", client.KindStalled).
		at(5000).own("dan", client.KindReading).closed("dan", "n3", protocol.ClosePolicy)
	c := checkCloseCodes(byClient(b.h), Facts{}.withDefaults())
	expectViolations(t, c, 1, "wrong-close-code")
}

func balancerLog(drainedPick string) []BalancerDecision {
	return []BalancerDecision{
		{Kind: "start"},
		{Kind: "pick", AtMs: 10, Backend: "n1", Conn: 1, User: "ann", Up: true},
		{Kind: "down", AtMs: 20, Backend: "n2", Reason: "checks_failed"},
		{Kind: "drain", AtMs: 30, Backend: "n3"},
		{Kind: "pick", AtMs: 40, Backend: drainedPick, Conn: 2, User: "bob", Up: true},
		{Kind: "up", AtMs: 50, Backend: "n2", Reason: "checks_passed"},
		{Kind: "pick", AtMs: 60, Backend: "n2", Conn: 3, User: "cat", Up: true},
		{Kind: "start", AtMs: 70},
		{Kind: "pick", AtMs: 80, Backend: "n3", Conn: 1, User: "dan", Up: true}, // a new process: n3 in rotation again
	}
}

func TestTheBalancerCheckPassesPicksOfBackendsUpAndInRotation(t *testing.T) {
	expectViolations(t, checkBalancer(nil, Facts{Decisions: balancerLog("n1")}), 0, "")
}

func TestTheBalancerCheckCatchesAPickOfABackendMarkedDownOrDraining(t *testing.T) {
	expectViolations(t, checkBalancer(nil, Facts{Decisions: balancerLog("n2")}), 1, "pick-ineligible")
	expectViolations(t, checkBalancer(nil, Facts{Decisions: balancerLog("n3")}), 1, "pick-ineligible")
	// The pick's own report of its backend is held too.
	log := balancerLog("n1")
	log[1].Up = false
	expectViolations(t, checkBalancer(nil, Facts{Decisions: log}), 1, "pick-ineligible")
}

// policyLog is a least-conn process's picks with the loads each records:
// n2 carries least at the second pick, so that pick must go to it.
func policyLog(policy, secondPick string) []BalancerDecision {
	up := func(name string, load int) PickState { return PickState{Name: name, Load: load, Up: true} }
	return []BalancerDecision{
		{Kind: "start", Policy: policy, ConnectionsMax: 100, HashLoadFactor: 1.25},
		{Kind: "pick", AtMs: 10, Backend: "n1", Conn: 1, User: "ann", Up: true,
			Backends: []PickState{up("n1", 0), up("n2", 0), up("n3", 0)}},
		{Kind: "pick", AtMs: 20, Backend: secondPick, Conn: 2, User: "bob", Up: true,
			Backends: []PickState{up("n1", 4), up("n2", 2), up("n3", 3)}, Cursor: 1},
		// A retry avoids n2 (its dial failed) and n3 is at the cap: n1 is
		// the only choice, although it carries the most.
		{Kind: "pick", AtMs: 30, Backend: "n1", Conn: 3, User: "cat", Up: true,
			Backends: []PickState{up("n1", 9), up("n2", 2), up("n3", 100)}, Cursor: 2, Avoid: "n2"},
	}
}

func TestTheBalancerCheckPassesPicksThePolicyHadToMake(t *testing.T) {
	expectViolations(t, checkBalancer(nil, Facts{Decisions: policyLog("least-conn", "n2")}), 0, "")
	expectViolations(t, checkBalancer(nil, Facts{Decisions: policyLog("round-robin", "n2")}), 0, "")
	expectViolations(t, checkBalancer(nil, Facts{Decisions: policyLog("hash-user", "n2")}), 0, "")
	// A log without the loads (an older balancer) is judged on health alone.
	log := policyLog("least-conn", "n1")
	log[2].Backends = nil
	expectViolations(t, checkBalancer(nil, Facts{Decisions: log}), 0, "")
}

func TestTheBalancerCheckCatchesAPickThePolicyWouldNotMake(t *testing.T) {
	// least-conn picking the most loaded backend.
	expectViolations(t, checkBalancer(nil, Facts{Decisions: policyLog("least-conn", "n1")}), 1, "pick-not-policy")
	// round-robin skipping the next backend.
	expectViolations(t, checkBalancer(nil, Facts{Decisions: policyLog("round-robin", "n3")}), 1, "pick-not-policy")
	// hash-user over its load bound: ceil(1.25 × (10 + 1) / 3) = 5.
	log := policyLog("hash-user", "n1")
	log[2].Backends[0].Load = 5
	expectViolations(t, checkBalancer(nil, Facts{Decisions: log}), 1, "pick-not-policy")
	// least-conn ties go to the first after the cursor.
	log = policyLog("least-conn", "n3")
	log[2].Backends[1].Load = 3
	expectViolations(t, checkBalancer(nil, Facts{Decisions: log}), 1, "pick-not-policy")
}

// A pick must start from where the previous pick left the cursor: a
// round-robin or least-conn balancer whose cursor never moves sends every
// connection to one backend, each pick the right one for the cursor it
// reports.
func TestTheBalancerCheckCatchesACursorThatDoesNotMove(t *testing.T) {
	up := func(name string) PickState { return PickState{Name: name, Up: true} }
	backends := []PickState{up("n1"), up("n2"), up("n3")}
	for _, policy := range []string{"round-robin", "least-conn"} {
		stuck := []BalancerDecision{{Kind: "start", Policy: policy}}
		moving := []BalancerDecision{{Kind: "start", Policy: policy}}
		for i := range 4 {
			stuck = append(stuck, BalancerDecision{Kind: "pick", AtMs: int64(i), Backend: "n1", Conn: uint64(i + 1), User: "u", Up: true,
				Backends: backends, Cursor: 0})
			moving = append(moving, BalancerDecision{Kind: "pick", AtMs: int64(i), Backend: backends[i%3].Name, Conn: uint64(i + 1), User: "u",
				Up: true, Backends: backends, Cursor: i % 3})
		}
		expectViolations(t, checkBalancer(nil, Facts{Decisions: stuck}), 3, "pick-cursor")
		expectViolations(t, checkBalancer(nil, Facts{Decisions: moving}), 0, "")
	}
}

// stalledRun: dan is stalled from 1s to 5s in a room at seq 2, cut off,
// reconnects and gets seq 3 on.
func stalledRun(code int, nextSeq uint64) *historyBuilder {
	b := newHistory().greeted("dan", "n1").join("dan", "r", 0, "e1").
		deliver("dan", "r", 1, "ann-1", "e1").deliver("dan", "r", 2, "ann-2", "e1")
	b.at(1000).own("dan", client.KindStalled).at(5000).own("dan", client.KindReading).
		deliver("dan", "r", 3, "ann-3", "e1").closed("dan", "n1", code)
	b.greeted("dan", "n2").join("dan", "r", 5, "e1").deliver("dan", "r", nextSeq, "ann-x", "e1")
	return b
}

func TestTheCutOffCheckPassesAStalledClientCutOffThatResumes(t *testing.T) {
	expectViolations(t, checkCutOff(byClient(stalledRun(protocol.CloseReconnect, 4).h), Facts{}.withDefaults()), 0, "")
}

func TestTheCutOffCheckCatchesAStalledClientNeverCutOff(t *testing.T) {
	b := newHistory().greeted("dan", "n1").join("dan", "r", 0, "e1").
		at(1000).own("dan", client.KindStalled).at(5000).own("dan", client.KindReading)
	expectViolations(t, checkCutOff(byClient(b.h), Facts{}.withDefaults()), 1, "not-cut-off")
}

func TestTheCutOffCheckCatchesACutOffLateOrWithTheWrongCode(t *testing.T) {
	expectViolations(t, checkCutOff(byClient(stalledRun(closeAbnormal, 4).h), Facts{}.withDefaults()), 1, "cut-off-code")
	b := newHistory().greeted("dan", "n1").at(1000).own("dan", client.KindStalled).at(5000).own("dan", client.KindReading).
		at(30000).closed("dan", "n1", protocol.CloseReconnect)
	expectViolations(t, checkCutOff(byClient(b.h), Facts{}.withDefaults()), 1, "cut-off-late")
}

// A stalled client that drops its connection itself (the workload's
// reconnects) before its cut-off is due ends it with 1006: its own doing,
// not the node's, so not judged; one that dropped only after the cut-off
// was due (10 s after reading again) is.
func TestTheCutOffCheckLeavesOutAStallTheClientEndedItself(t *testing.T) {
	b := newHistory().greeted("dan", "n1").join("dan", "r", 0, "e1").
		at(1000).own("dan", client.KindStalled).at(3000).own("dan", client.KindDropped).
		at(5000).own("dan", client.KindReading).closed("dan", "n1", closeAbnormal)
	expectViolations(t, checkCutOff(byClient(b.h), Facts{}.withDefaults()), 0, "")
	b = newHistory().greeted("dan", "n1").join("dan", "r", 0, "e1").
		at(1000).own("dan", client.KindStalled).at(5000).own("dan", client.KindReading).
		at(7000).own("dan", client.KindDropped).closed("dan", "n1", closeAbnormal)
	expectViolations(t, checkCutOff(byClient(b.h), Facts{}.withDefaults()), 0, "")
	b = newHistory().greeted("dan", "n1").join("dan", "r", 0, "e1").
		at(1000).own("dan", client.KindStalled).at(5000).own("dan", client.KindReading).
		at(7000).closed("dan", "n1", closeAbnormal).at(7000).own("dan", client.KindDropped) // the same millisecond, recorded the other way round
	expectViolations(t, checkCutOff(byClient(b.h), Facts{}.withDefaults()), 0, "")
	b = newHistory().greeted("dan", "n1").join("dan", "r", 0, "e1").
		at(1000).own("dan", client.KindStalled).at(5000).own("dan", client.KindReading).
		at(16000).own("dan", client.KindDropped).closed("dan", "n1", closeAbnormal)
	expectViolations(t, checkCutOff(byClient(b.h), Facts{}.withDefaults()), 1, "cut-off-late")
}

func TestTheCutOffCheckCatchesAResumeThatLosesMessages(t *testing.T) {
	expectViolations(t, checkCutOff(byClient(stalledRun(protocol.CloseReconnect, 5).h), Facts{}.withDefaults()), 1, "resume-gap")
}

// recoveryRun: ann sends every 100 ms from 0 to 20 s; bob receives each
// after latencyMs, but after slowUntilMs only 10 ms.
func recoveryRun(slowUntilMs int64) History {
	var h History
	for at := int64(0); at < 20000; at += 100 {
		id := "ann-" + itoa(at)
		h = append(h, Record{Client: "ann", Event: client.Event{Kind: client.KindSent, AtMs: at, ID: id, Room: "r"}})
		latency := int64(10)
		if at >= 5000 && at < slowUntilMs {
			latency = 3000 // n2 deaf to the room after Redis came back at 5 s
		}
		h = append(h, Record{Client: "bob", Event: client.Event{Kind: client.KindDelivered, AtMs: at + latency, ID: id, Room: "r", Seq: uint64(at/100 + 1)}})
	}
	return h
}

func itoa(n int64) string { return string(rune('a'+n/1000)) + string(rune('a'+n%1000/100)) }

var recoveryFacts = Facts{Faults: []FaultSpan{{Action: "partition", Target: "n2-redis", FromMs: 2000, ToMs: 5000}}}

func TestTheRecoveryCheckPassesLatencyBackWithinItsTime(t *testing.T) {
	expectViolations(t, checkRecovery(recoveryRun(7000), recoveryFacts.withDefaults()), 0, "")
}

func TestTheRecoveryCheckCatchesANodeDeafForSecondsAfterAHeal(t *testing.T) {
	expectViolations(t, checkRecovery(recoveryRun(12000), recoveryFacts.withDefaults()), 1, "slow-recovery")
}

// A message sent just before the next fault begins and held up by it (its
// receiver's connection cut, redialed after the heal and a backoff) is
// judged by what it waited before that fault: 350 ms here, though the
// judged stretch (5 s from the first heal's recovery) ended before it. Found by
// chatlab hunt --seed 22 (run 211): a send refused 10 ms after it went out
// (a pub/sub break), 323 ms before a 4 s balancer restart, delivered 3.6 s
// after the balancer was back, failed the first fault's recovery (p99
// 7,967 ms). One that had waited past the bound before the next fault
// still fails it.
func TestTheRecoveryCheckLeavesTheNextFaultsDelayToIt(t *testing.T) {
	facts := recoveryFacts
	facts.Faults = append(facts.Faults[:1:1], FaultSpan{Action: "balancer-restart", Target: "balancer", FromMs: 15300, ToMs: 19300})
	h := recoveryRun(5000)
	h = append(h, Record{Client: "ann", Event: client.Event{Kind: client.KindSent, AtMs: 14950, ID: "late", Room: "r"}},
		Record{Client: "bob", Event: client.Event{Kind: client.KindDelivered, AtMs: 20100, ID: "late", Room: "r", Seq: 999}})
	sort.SliceStable(h, func(i, j int) bool { return h[i].AtMs < h[j].AtMs })
	expectViolations(t, checkRecovery(h, facts.withDefaults()), 0, "")
	facts.Faults[1].FromMs, facts.Faults[1].ToMs = 13000, 17000
	h = recoveryRun(5000)
	for i := range h {
		if h[i].Kind == client.KindDelivered && h[i].AtMs >= 10000 && h[i].AtMs < 11000 {
			h[i].AtMs += 7000 // sent at 10 s, waiting 3 s when the next fault began
		}
	}
	sort.SliceStable(h, func(i, j int) bool { return h[i].AtMs < h[j].AtMs })
	expectViolations(t, checkRecovery(h, facts.withDefaults()), 1, "slow-recovery")
}

// A fault healed within another that is still in force is not judged: the
// disturbance goes on. Found by chatlab hunt --seed 23 (run 67): a drain
// of the only node (225-325 ms) within a partition of its link from the
// balancer that lasted the run; no client could connect, and the drain's
// recovery failed (p99 7,188 ms). A fault that begins after it, even at
// its heal, does not envelop it.
func TestTheRecoveryCheckLeavesOutAFaultWithinAnother(t *testing.T) {
	slow := recoveryRun(12000)
	for outer, detail := range map[FaultSpan]string{ // map order: each case stands alone
		{Action: "partition", Target: "balancer-n1", FromMs: 1000, ToMs: -1}:    "1 faults healed, 0 judged",
		{Action: "partition", Target: "balancer-n1", FromMs: 2000, ToMs: 16000}: "2 faults healed, 0 judged",
	} {
		facts := recoveryFacts
		facts.Faults = append(facts.Faults[:1:1], outer)
		if c := checkRecovery(slow, facts.withDefaults()); !c.OK || !strings.HasPrefix(c.Detail, detail) {
			t.Fatalf("within %+v: %+v", outer, c)
		}
	}
	facts := recoveryFacts
	facts.Faults = append(facts.Faults[:1:1], FaultSpan{Action: "pause", Target: "n3", FromMs: 5000, ToMs: -1})
	expectViolations(t, checkRecovery(slow, facts.withDefaults()), 1, "slow-recovery")
}

// A stalled sender's backlog is its own: left out, as floods are.
func TestTheRecoveryCheckLeavesOutTheSendsOfAStalledClient(t *testing.T) {
	h := recoveryRun(12000)
	h = append(History{{Client: "ann", Event: client.Event{Kind: client.KindStalled}}}, h...)
	expectViolations(t, checkRecovery(h, recoveryFacts.withDefaults()), 0, "")
}

// So is a stalled receiver's catch-up: after the stall its live messages
// wait behind the replay of what it missed. Another receiver that lags as
// long fails the check all the same.
func TestTheRecoveryCheckLeavesOutDeliveriesToAStalledClient(t *testing.T) {
	h := recoveryRun(12000)
	h = append(History{{Client: "bob", Event: client.Event{Kind: client.KindStalled}}}, h...)
	expectViolations(t, checkRecovery(h, recoveryFacts.withDefaults()), 0, "")
	h = recoveryRun(12000)
	h = append(History{{Client: "cat", Event: client.Event{Kind: client.KindStalled}}}, h...)
	expectViolations(t, checkRecovery(h, recoveryFacts.withDefaults()), 1, "slow-recovery")
}
