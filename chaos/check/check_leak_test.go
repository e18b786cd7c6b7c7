package check

import (
	"strings"
	"testing"
)

// runtimeRun is a run's samples of one member: a baseline before any
// client, the churn's peak, and the settled figures after the clients left.
func runtimeRun(member string, startedMs int64, base, peak, settled RuntimeSample) []RuntimeSample {
	out := []RuntimeSample{base, peak, settled}
	for i := range out {
		out[i].Member, out[i].StartedMs = member, startedMs
		out[i].AtMs = startedMs + 1000 + int64(i)*30000
	}
	out[2].Settled = true
	return out
}

var (
	idle    = RuntimeSample{Goroutines: 14, HeapBytes: 3 << 20, OpenFDs: 13}
	churned = RuntimeSample{Goroutines: 140, HeapBytes: 40 << 20, OpenFDs: 95}
)

// Figures that climb under churn and come back pass, on every process.
func TestNoLeakPassesFiguresThatReturn(t *testing.T) {
	back := RuntimeSample{Goroutines: 17, HeapBytes: 9 << 20, OpenFDs: 22} // pools and caches kept, within tolerance
	samples := append(runtimeRun("n1", -800, idle, churned, back), runtimeRun("balancer", -300, idle, churned, idle)...)
	c := JudgeLeaks(samples, LeakToleranceDefault)
	if !c.OK || c.Violations != 0 {
		t.Fatalf("figures that returned were flagged: %+v", c)
	}
	if !strings.Contains(c.Detail, "n1 goroutines 14 → 17, heap 3.0 → 9.0 MiB, open fds 13 → 22") {
		t.Fatalf("detail %q does not give the figures", c.Detail)
	}
}

// A goroutine and a descriptor per connection served, or a heap that
// keeps every connection's buffers, is flagged, naming the figure.
func TestNoLeakFlagsWhatDoesNotReturn(t *testing.T) {
	cases := map[string]RuntimeSample{
		"goroutines": {Goroutines: 14 + 300, HeapBytes: 3 << 20, OpenFDs: 13},
		"open_fds":   {Goroutines: 15, HeapBytes: 3 << 20, OpenFDs: 13 + 300},
		"heap":       {Goroutines: 15, HeapBytes: 3<<20 + 30<<20, OpenFDs: 13},
	}
	for figure, leaked := range cases {
		t.Run(figure, func(t *testing.T) {
			samples := append(runtimeRun("n2", -700, idle, churned, leaked), runtimeRun("n1", -800, idle, churned, idle)...)
			c := JudgeLeaks(samples, LeakToleranceDefault)
			if c.OK || c.Violations != 1 {
				t.Fatalf("a leak in %s passed: %+v", figure, c)
			}
			if message := c.Examples[0].Message; !strings.HasPrefix(message, "n2 ") || !strings.Contains(message, "baseline in "+figure+":") {
				t.Fatalf("violation %q does not name n2 and %s", message, figure)
			}
		})
	}
}

// A restarted process is judged against its own first sample: its first
// process's baseline is gone with it, and a new process starts higher
// (clients reconnect to it at once) without that being a leak; but it
// must come back near its own start.
func TestNoLeakJudgesARestartedProcessByItsOwnBaseline(t *testing.T) {
	first := runtimeRun("n1", -800, idle, churned, churned)
	first = first[:2] // killed under load: never settled, not judged
	restartedAt := RuntimeSample{Goroutines: 40, HeapBytes: 12 << 20, OpenFDs: 35}
	back := RuntimeSample{Goroutines: 44, HeapBytes: 14 << 20, OpenFDs: 38}
	c := JudgeLeaks(append(first, runtimeRun("n1", 25000, restartedAt, churned, back)...), LeakToleranceDefault)
	if !c.OK {
		t.Fatalf("a restarted process back near its own start was flagged: %+v", c)
	}
	leaked := RuntimeSample{Goroutines: 40 + 200, HeapBytes: 12 << 20, OpenFDs: 35 + 200}
	c = JudgeLeaks(append(first, runtimeRun("n1", 25000, restartedAt, churned, leaked)...), LeakToleranceDefault)
	if c.OK || !strings.Contains(c.Examples[0].Message, "started at 25000 ms") {
		t.Fatalf("a restarted process that leaked passed: %+v", c)
	}
}

// A run whose processes were never sampled after the clients left judged
// nothing, and says so by failing.
func TestNoLeakFailsWithNothingSettled(t *testing.T) {
	samples := runtimeRun("n1", -800, idle, churned, idle)
	samples[2].Settled = false
	if c := JudgeLeaks(samples, LeakToleranceDefault); c.OK {
		t.Fatalf("no settled sample passed: %+v", c)
	}
	if c := JudgeLeaks(nil, LeakToleranceDefault); c.OK {
		t.Fatalf("no sample at all passed: %+v", c)
	}
}
