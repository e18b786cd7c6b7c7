package check

import (
	"fmt"
	"sort"

	"chatlab/system/client"
)

// enveloped reports whether another fault began no later than fault i
// and is still in force when it heals: the disturbance goes on, and the
// recovery is that fault's, judged after its own heal (or never, if it
// lasts the run: a partition of the only node's link).
func enveloped(faults []FaultSpan, i int) bool {
	f := faults[i]
	for j, other := range faults {
		if j != i && other.FromMs <= f.FromMs && (!other.Healed() || other.ToMs > f.ToMs) {
			return true
		}
	}
	return false
}

// checkRecovery holds the run to a recovery time per fault: once a fault
// heals, the messages sent from RecoverWithinMs after it on (until the
// next fault, at most recoveryJudgedMs) reach their receivers with a p99
// latency within RecoveryLatencyMaxMs. A message still on its way when the
// next fault begins is judged by how long it had waited by then, and a
// fault healed within another still in force is not judged (enveloped). A node that stays deaf to a room for
// seconds after its link to Redis came back fails it, even when the
// whole run's latency figures hide it. Senders the run floods with or
// stalls are left out, and so are deliveries to the clients it stalls:
// their latency is their own backlog (a stalled reader cut off replays
// what it missed as its connection flushes, and its live messages wait
// behind that replay), not the system's recovery; the cut-off check holds
// their resume.
func checkRecovery(h History, facts Facts) Check {
	v := newVerdict(CheckRecovery)
	type sending struct {
		sender string
		atMs   int64
	}
	// A client that stopped reading piles up sends it cannot see acked:
	// their latency is its own backlog, not the system's recovery.
	stalled := map[string]bool{}
	for _, r := range h {
		if r.Kind == client.KindStalled {
			stalled[r.Client] = true
		}
	}
	sent := map[string]sending{}
	lastSentMs := int64(-1)
	for _, r := range h {
		if r.Kind == client.KindSent {
			if _, seen := sent[r.ID]; !seen && !stalled[r.Client] && !hasAnyPrefix(r.Client, facts.LatencyExcludedSenders) {
				sent[r.ID] = sending{sender: r.Client, atMs: r.AtMs}
				lastSentMs = max(lastSentMs, r.AtMs)
			}
		}
	}
	// latencies pairs every first delivery of a message to a client with
	// the message's sent time.
	type latency struct{ sentMs, ms int64 }
	var latencies []latency
	firsts := map[[2]string]bool{}
	for _, r := range h {
		if r.Kind != client.KindDelivered {
			continue
		}
		key := [2]string{r.Client, r.ID}
		s, known := sent[r.ID]
		if !known || firsts[key] || stalled[r.Client] {
			continue
		}
		firsts[key] = true
		latencies = append(latencies, latency{sentMs: s.atMs, ms: r.AtMs - s.atMs})
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i].sentMs < latencies[j].sentMs })
	healed, judged := 0, 0
	for i, f := range facts.Faults {
		if !f.Healed() {
			continue
		}
		healed++
		if enveloped(facts.Faults, i) {
			continue
		}
		fromMs := f.ToMs + facts.RecoverWithinMs
		toMs := min(fromMs+recoveryJudgedMs, lastSentMs+1)
		nextFaultMs := int64(-1) // the first fault to begin after f healed
		for _, other := range facts.Faults {
			if other.FromMs > f.ToMs && (nextFaultMs < 0 || other.FromMs < nextFaultMs) {
				nextFaultMs = other.FromMs
			}
		}
		if nextFaultMs >= 0 {
			toMs = min(toMs, nextFaultMs)
		}
		if toMs-fromMs < recoveryJudgedMinMs {
			continue
		}
		first := sort.Search(len(latencies), func(i int) bool { return latencies[i].sentMs >= fromMs })
		var window []float64
		for _, l := range latencies[first:] {
			if l.sentMs >= toMs {
				break
			}
			ms := l.ms
			if nextFaultMs >= 0 {
				// Still on its way when the next fault began: what it
				// waited from then on is that fault's, judged after its
				// own heal.
				ms = min(ms, nextFaultMs-l.sentMs)
			}
			window = append(window, float64(ms))
		}
		if len(window) == 0 {
			continue
		}
		judged++
		sort.Float64s(window)
		p99, worst := Percentile(window, 0.99), window[len(window)-1]
		if p99 > facts.RecoveryLatencyMaxMs {
			v.add(Violation{Kind: "slow-recovery", AtMs: fromMs,
				Message: fmt.Sprintf("%.1fs after %s healed at %.3fs, messages sent until %.3fs still took p99 %.0f ms (max %.0f ms, %d deliveries), over %.0f ms",
					float64(facts.RecoverWithinMs)/1000, f, float64(f.ToMs)/1000, float64(toMs)/1000, p99, worst, len(window), facts.RecoveryLatencyMaxMs)})
		}
	}
	if healed == 0 {
		return v.done("no fault healed during the run")
	}
	detail := fmt.Sprintf("%d faults healed, %d judged (the others were followed by another fault or the end of the sends)", healed, judged)
	if v.check.Violations == 0 && judged > 0 {
		detail += fmt.Sprintf(": p99 latency within %.0f ms from %.1fs after each", facts.RecoveryLatencyMaxMs, float64(facts.RecoverWithinMs)/1000)
	}
	return v.done(detail)
}
