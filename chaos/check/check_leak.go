package check

import (
	"fmt"
	"sort"
	"strings"
)

// CheckNoLeak: after the clients left, every node and balancer process is
// back near the goroutines, heap and open file descriptors it started
// with.
const CheckNoLeak = "no-leak"

// LeakTolerance is how far above its first sample a process may settle
// before no-leak calls it a leak: for each figure, the larger of an
// absolute allowance and a share of the first sample's value.
type LeakTolerance struct {
	Goroutines      int
	OpenFDs         int
	HeapBytes       int64
	ShareOfBaseline float64
}

// LeakToleranceDefault is what the lab allows. A process that served
// hundreds of connections and then none keeps a few things it had not at
// its start, none of which grows with the connections it served:
//
//   - goroutines and descriptors: keep-alive HTTP connections (the
//     balancer's health checks, the lab's own sampling), connections the
//     Redis client's pool opened under load and keeps while idle, and
//     the pub/sub link's, each a descriptor and at most a goroutine or
//     two; 16 covers them with room to spare;
//   - heap, just after a collection: buffers held by sync.Pool and the
//     runtime's caches, grown maps that Go never shrinks (connection and
//     room tables sized for the peak); 16 MiB covers them.
//
// A quarter of the baseline is allowed on top when that is more. A leak
// of one goroutine, descriptor or connection's buffers per connection
// served exceeds these within a few hundred connections, which a minute
// of churn makes.
var LeakToleranceDefault = LeakTolerance{Goroutines: 16, OpenFDs: 16, HeapBytes: 16 << 20, ShareOfBaseline: 0.25}

// LeakOver says which of a process's figures now stand above what the
// tolerance allows over its first sample: "goroutines", "heap",
// "open_fds", in that order.
func (t LeakTolerance) LeakOver(first, now RuntimeSample) []string {
	var over []string
	if now.Goroutines > first.Goroutines+max(t.Goroutines, int(t.ShareOfBaseline*float64(first.Goroutines))) {
		over = append(over, "goroutines")
	}
	if now.HeapBytes > first.HeapBytes+max(t.HeapBytes, int64(t.ShareOfBaseline*float64(first.HeapBytes))) {
		over = append(over, "heap")
	}
	if now.OpenFDs > first.OpenFDs+max(t.OpenFDs, int(t.ShareOfBaseline*float64(first.OpenFDs))) {
		over = append(over, "open_fds")
	}
	return over
}

// RuntimeProcess is one process of a member in a run's runtime samples:
// its first sample (its baseline) and its last settled one, if any.
type RuntimeProcess struct {
	Member    string
	StartedMs int64
	First     RuntimeSample
	Settled   *RuntimeSample
}

// RuntimeProcesses groups samples by process (member and start time), in
// order of first appearance; a restarted member has one per process, each
// its own baseline.
func RuntimeProcesses(samples []RuntimeSample) []RuntimeProcess {
	sorted := append([]RuntimeSample(nil), samples...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].AtMs < sorted[j].AtMs })
	var processes []RuntimeProcess
	index := map[string]int{}
	for _, s := range sorted {
		key := fmt.Sprintf("%s@%d", s.Member, s.StartedMs)
		i, seen := index[key]
		if !seen {
			i = len(processes)
			index[key] = i
			processes = append(processes, RuntimeProcess{Member: s.Member, StartedMs: s.StartedMs, First: s})
		}
		if s.Settled {
			settled := s
			processes[i].Settled = &settled
		}
	}
	return processes
}

// JudgeLeaks judges every process that has a settled sample (those
// running when the clients had left) against its own first sample: the
// first process of a member against the member's sample from before any
// client, a restarted one against its first sample after the restart.
// Processes that were gone by then (a node killed and not restarted) are
// not judged; a run in which no process settled fails, for it judged
// nothing.
func JudgeLeaks(samples []RuntimeSample, tolerance LeakTolerance) Check {
	v := newVerdict(CheckNoLeak)
	var back []string
	judged := 0
	for _, p := range RuntimeProcesses(samples) {
		if p.Settled == nil {
			continue
		}
		judged++
		figures := leakFigures(p.First, *p.Settled)
		over := tolerance.LeakOver(p.First, *p.Settled)
		if len(over) == 0 {
			back = append(back, p.Member+" "+figures)
			continue
		}
		v.add(Violation{Kind: "leak", AtMs: p.Settled.AtMs,
			Message: fmt.Sprintf("%s (process started at %d ms) did not return near its baseline in %s: %s",
				p.Member, p.StartedMs, strings.Join(over, ", "), figures)})
	}
	if judged == 0 {
		v.add(Violation{Kind: "nothing_settled", Message: "no process was sampled after the clients left: nothing to judge"})
		return v.done("no settled sample")
	}
	if v.check.Violations > 0 {
		return v.done(fmt.Sprintf("%d of %d processes kept what their clients left behind: %s", v.check.Violations, judged,
			v.check.Examples[0].Message))
	}
	return v.done(fmt.Sprintf("every process back near its baseline after the clients left (baseline → settled): %s",
		strings.Join(back, "; ")))
}

// leakFigures says a process's figures at its baseline and settled.
func leakFigures(first, settled RuntimeSample) string {
	return fmt.Sprintf("goroutines %d → %d, heap %.1f → %.1f MiB, open fds %d → %d",
		first.Goroutines, settled.Goroutines, float64(first.HeapBytes)/(1<<20), float64(settled.HeapBytes)/(1<<20),
		first.OpenFDs, settled.OpenFDs)
}
