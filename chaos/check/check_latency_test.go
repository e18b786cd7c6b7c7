package check

import (
	"strconv"
	"strings"
	"testing"
)

// latencyRoom sends one message per latency: a sends at 1000·i, b gets it
// that many ms later.
func latencyRoom(latencies ...int64) *historyBuilder {
	b := newHistory().connect("a").join("a", "r", 0, "e1").connect("b").join("b", "r", 0, "e1")
	for i, latency := range latencies {
		id := "a-" + strconv.Itoa(i+1)
		sentMs := int64(1000 * (i + 1))
		b.at(sentMs).send("a", "r", id).ack("a", "r", id, uint64(i+1)).
			at(sentMs+latency).deliver("b", "r", uint64(i+1), id, "e1")
	}
	return b
}

func TestLatencyPercentiles(t *testing.T) {
	check, stats := checkLatency(indexHistory(latencyRoom(5, 1, 3, 2, 4).h, ""), 0, nil)
	expectViolations(t, check, 0, "")
	if stats != (LatencyStats{P50: 3, P99: 5, Max: 5}) {
		t.Fatalf("stats %+v", stats)
	}
	if !strings.HasPrefix(check.Detail, "5 deliveries: p50 3 ms") {
		t.Fatalf("detail %q", check.Detail)
	}
}

func TestLatencyCountsFirstDeliveriesOnly(t *testing.T) {
	b := latencyRoom(2).at(9000).again("b", "r", 1, "a-1", "e1")
	_, stats := checkLatency(indexHistory(b.h, ""), 0, nil)
	if stats.Max != 2 {
		t.Fatalf("stats %+v", stats)
	}
}

func TestLatencyBound(t *testing.T) {
	ix := indexHistory(latencyRoom(10, 20, 300).h, "")
	check, _ := checkLatency(ix, 100, nil)
	expectViolations(t, check, 1, "latency")
	check, _ = checkLatency(ix, 300, nil)
	expectViolations(t, check, 0, "")
}

func TestLatencyOfNothing(t *testing.T) {
	check, stats := checkLatency(indexHistory(newHistory().connect("a").h, ""), 50, nil)
	expectViolations(t, check, 0, "")
	if stats != (LatencyStats{}) {
		t.Fatalf("stats %+v", stats)
	}
}

func TestLatencyLeavesOutExcludedSenders(t *testing.T) {
	b := latencyRoom(10).connect("flood1-c001").join("flood1-c001", "r", 0, "e1").
		at(5000).send("flood1-c001", "r", "f-1").ack("flood1-c001", "r", "f-1", 2).
		at(9000).deliver("b", "r", 2, "f-1", "e1")
	ix := indexHistory(b.h, "")
	check, stats := checkLatency(ix, 100, nil)
	expectViolations(t, check, 1, "latency")
	check, stats = checkLatency(ix, 100, []string{"flood"})
	expectViolations(t, check, 0, "")
	if stats.Max != 10 {
		t.Fatalf("stats %+v, want only the ordinary sender's 10 ms", stats)
	}
}
