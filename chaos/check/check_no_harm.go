package check

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"chatlab/system/client"
	"chatlab/system/protocol"
)

// CheckNoHarm: while a client abuses the system, the well-behaved clients
// do not feel it.
const CheckNoHarm = "no-harm"

// AbuseActions are the fault actions in which a client abuses the system
// (scenarios.Action.Abuse): a send flood, a join/leave or garbage flood, a
// connection flood, aborted upgrades.
var AbuseActions = []string{"conn-flood", "flood", "garbage", "join-flood", "upgrade-aborts"}

// Defaults of the no-harm check.
const (
	// HarmLatencyMaxDefault bounds the p99 delivery latency of the
	// well-behaved clients' sends during an abuse when the scenario sets
	// no bound of its own.
	HarmLatencyMaxDefault float64 = 1000
	// harmAfterMs is how long after an abuse ends a refused connection or
	// a node marked down is still laid at its door: a health check's
	// verdict or a client's backoff comes a little after its cause.
	harmAfterMs = 2000
)

// span is a stretch of the run, [fromMs, toMs).
type span struct{ fromMs, toMs int64 }

func (s span) holds(atMs int64) bool { return atMs >= s.fromMs && atMs < s.toMs }

func within(spans []span, atMs int64) bool {
	return slices.ContainsFunc(spans, func(s span) bool { return s.holds(atMs) })
}

// checkNoHarm judges the run while an abuse (AbuseActions) is under way,
// away from every other fault (active, or healed less than
// RecoverWithinMs before: what happens then is that fault's doing):
//   - every send a well-behaved client made is acked (never given up, never
//     left unacked) and reaches some client, and no send of theirs is
//     refused as unavailable (the node's broker queue full);
//   - the p99 latency of those sends' first deliveries to each receiver is
//     within HarmLatencyMaxMs;
//   - no dial of a well-behaved client fails, and the balancer marks no
//     node down, during the abuse or harmAfterMs after it. A dial the
//     client's own network cut (a drop recorded while it had no
//     connection up: the workload's reconnects landing mid-dial) is
//     counted apart, not refused.
//
// Well-behaved are the clients in the history but the excluded senders
// (floods) and clients that stopped reading; abusers record no history.
func checkNoHarm(h History, facts Facts) Check {
	v := newVerdict(CheckNoHarm)
	endMs := int64(0)
	for _, r := range h {
		endMs = max(endMs, r.AtMs)
	}
	for _, d := range facts.Decisions {
		endMs = max(endMs, d.AtMs)
	}
	var abuses, others []span
	var names []string
	for _, f := range facts.Faults {
		to := f.ToMs
		if !f.Healed() {
			to = math.MaxInt64
		}
		if slices.Contains(AbuseActions, f.Action) {
			abuses = append(abuses, span{f.FromMs, to})
			names = append(names, f.String())
			continue
		}
		if f.Healed() {
			to += facts.RecoverWithinMs
		}
		others = append(others, span{f.FromMs, to})
	}
	if len(abuses) == 0 {
		return v.done("no abuse in the run")
	}
	// during: a send made then is judged; after: a refusal or a node down
	// then is the abuse's.
	judgedAt := func(atMs int64, after bool) bool {
		if within(others, atMs) {
			return false
		}
		for _, a := range abuses {
			to := a.toMs
			if after && to != math.MaxInt64 {
				to += harmAfterMs
			}
			if atMs >= a.fromMs && atMs < to {
				return true
			}
		}
		return false
	}
	stalled := map[string]bool{}
	for _, r := range h {
		if r.Kind == client.KindStalled {
			stalled[r.Client] = true
		}
	}
	wellBehaved := func(name string) bool {
		return !stalled[name] && !hasAnyPrefix(name, facts.LatencyExcludedSenders)
	}
	type sending struct {
		client, room string
		atMs         int64
		acked        bool
		failed       bool
		delivered    bool
	}
	sends := map[string]*sending{}
	var order []string
	roomsHeard := map[string]bool{} // rooms in which a client got another's message
	refused, dialFailures, dialsCut := 0, 0, 0
	// A drop of a client that has no connection up cut its dial in flight
	// (the run's flaky network, as it cut the connection before): that
	// dial's failure is the drop's, not a refusal.
	up, cutDialing := map[string]bool{}, map[string]bool{}
	var latencies []float64
	firsts := map[[2]string]bool{}
	for _, r := range h {
		switch r.Kind {
		case client.KindSent:
			if _, seen := sends[r.ID]; !seen && wellBehaved(r.Client) && judgedAt(r.AtMs, false) {
				sends[r.ID] = &sending{client: r.Client, room: r.Room, atMs: r.AtMs}
				order = append(order, r.ID)
			}
		case client.KindAcked:
			if s := sends[r.ID]; s != nil {
				s.acked = true
			}
		case client.KindSendFailed:
			if s := sends[r.ID]; s != nil && !s.acked && !s.failed {
				s.failed = true
				v.add(Violation{Kind: "send-given-up", Client: r.Client, Room: r.Room, ID: r.ID, AtMs: r.AtMs,
					Message: fmt.Sprintf("%s's send %s, made during the abuse, was given up: %s %s", r.Client, r.ID, r.Code, r.Message)})
			}
		case client.KindError:
			if r.Code == protocol.CodeUnavailable && sends[r.ID] != nil {
				refused++
				v.add(Violation{Kind: "send-refused", Client: r.Client, Room: r.Room, ID: r.ID, AtMs: r.AtMs,
					Message: fmt.Sprintf("%s's send %s, made during the abuse, was refused as unavailable: %s", r.Client, r.ID, r.Message)})
			}
		case client.KindConnected:
			up[r.Client], cutDialing[r.Client] = true, false
		case client.KindDisconnected:
			up[r.Client] = false
		case client.KindDropped:
			cutDialing[r.Client] = !up[r.Client]
		case client.KindDialFailed:
			cut := cutDialing[r.Client]
			cutDialing[r.Client] = false
			if cut && wellBehaved(r.Client) && judgedAt(r.AtMs, true) {
				dialsCut++
			} else if wellBehaved(r.Client) && judgedAt(r.AtMs, true) {
				dialFailures++
				v.add(Violation{Kind: "dial-refused", Client: r.Client, AtMs: r.AtMs,
					Message: fmt.Sprintf("%s could not connect at %.3fs, during the abuse", r.Client, float64(r.AtMs)/1000)})
			}
		case client.KindDelivered:
			if !passedToApp(r.Event) {
				continue
			}
			s := sends[r.ID]
			if s == nil || r.Client == s.client {
				continue
			}
			roomsHeard[r.Room] = true
			s.delivered = true
			if key := [2]string{r.Client, r.ID}; !firsts[key] {
				firsts[key] = true
				latencies = append(latencies, float64(r.AtMs-s.atMs))
			}
		}
	}
	for _, id := range order {
		s := sends[id]
		switch {
		case s.failed:
		case !s.acked:
			v.add(Violation{Kind: "send-unacked", Client: s.client, Room: s.room, ID: id, AtMs: s.atMs,
				Message: fmt.Sprintf("%s's send %s, made during the abuse at %.3fs, was never acked", s.client, id, float64(s.atMs)/1000)})
		case !s.delivered && roomsHeard[s.room]:
			v.add(Violation{Kind: "send-undelivered", Client: s.client, Room: s.room, ID: id, AtMs: s.atMs,
				Message: fmt.Sprintf("%s's send %s, made during the abuse at %.3fs, was acked but reached nobody", s.client, id, float64(s.atMs)/1000)})
		}
	}
	downs := 0
	for _, d := range facts.Decisions {
		if d.Kind == "down" && judgedAt(d.AtMs, true) {
			downs++
			v.add(Violation{Kind: "node-marked-down", AtMs: d.AtMs,
				Message: fmt.Sprintf("the balancer marked %s down (%s) at %.3fs, during the abuse, with no fault on it", d.Backend, d.Reason, float64(d.AtMs)/1000)})
		}
	}
	sort.Float64s(latencies)
	p99, worst := 0.0, 0.0
	if len(latencies) > 0 {
		p99, worst = Percentile(latencies, 0.99), latencies[len(latencies)-1]
		if p99 > facts.HarmLatencyMaxMs {
			v.add(Violation{Kind: "slow-during-abuse",
				Message: fmt.Sprintf("the well-behaved clients' sends during the abuse took p99 %.0f ms to arrive (max %.0f ms, %d deliveries), over %.0f ms",
					p99, worst, len(latencies), facts.HarmLatencyMaxMs)})
		}
	}
	cutNote := ""
	if dialsCut > 0 {
		cutNote = fmt.Sprintf(" (%d cut by the client's own drop)", dialsCut)
	}
	return v.done(fmt.Sprintf("during %s: %d well-behaved sends judged, p99 %.0f ms (bound %.0f ms, max %.0f ms, %d deliveries); %d refused as unavailable, %d dials refused%s, %d nodes marked down",
		strings.Join(names, ", "), len(order), p99, facts.HarmLatencyMaxMs, worst, len(latencies), refused, dialFailures, cutNote, downs))
}
