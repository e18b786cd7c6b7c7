package check

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// checkLatency measures every first delivery of a message to a client's
// application: the
// delivered time minus the sender's first sent time, on the run's one clock.
// It fails only when p99MaxMs is set and p99 exceeds it. Messages from
// senders whose name starts with one of excluded are left out (a flood's
// own backlog is not the latency ordinary clients see).
func checkLatency(ix *historyIndex, p99MaxMs float64, excluded []string) (Check, LatencyStats) {
	v := newVerdict(CheckLatency)
	var latencies []float64
	for _, s := range ix.streams {
		seen := map[string]bool{}
		for _, e := range s.events {
			if !passedToApp(e) || seen[e.ID] {
				continue
			}
			seen[e.ID] = true
			if m := ix.messages[e.ID]; m != nil && m.sent && !hasAnyPrefix(m.sender, excluded) {
				latencies = append(latencies, float64(e.AtMs-m.sentAtMs))
			}
		}
	}
	sort.Float64s(latencies)
	stats := LatencyStats{P50: Percentile(latencies, 0.50), P99: Percentile(latencies, 0.99)}
	if len(latencies) > 0 {
		stats.Max = latencies[len(latencies)-1]
	}
	detail := fmt.Sprintf("%d deliveries: p50 %.0f ms, p99 %.0f ms, max %.0f ms", len(latencies), stats.P50, stats.P99, stats.Max)
	if p99MaxMs > 0 {
		detail += fmt.Sprintf(" (p99 bound %.0f ms)", p99MaxMs)
		if stats.P99 > p99MaxMs {
			v.add(Violation{Kind: "latency", AtMs: ix.endAtMs,
				Message: fmt.Sprintf("p99 latency %.0f ms exceeds the bound of %.0f ms", stats.P99, p99MaxMs)})
		}
	}
	return v.done(detail), stats
}

func hasAnyPrefix(name string, prefixes []string) bool {
	for _, prefix := range prefixes {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

// Percentile is the nearest-rank percentile of sorted values, 0 for none.
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}
