package sim

import (
	"testing"
	"time"
)

func TestSwarmVariesWithinRangesAndRepeats(t *testing.T) {
	swarm := Swarm{Latency: Range{time.Millisecond, 20 * time.Millisecond}, Jitter: Range{0, 5 * time.Millisecond},
		SendInterval: Range{time.Second, 3 * time.Second}, FaultShift: 2 * time.Second}
	faults := []FaultRecord{{At: 10 * time.Second, Fault: Fault{Action: Crash, Target: "n2"}}}
	latencies := map[time.Duration]bool{}
	for seed := uint64(1); seed <= 20; seed++ {
		topology, workload, varied := swarm.Vary(seed, Topology{}, Workload{}, faults)
		again, _, _ := swarm.Vary(seed, Topology{}, Workload{}, faults)
		if again.Link != topology.Link {
			t.Fatalf("seed %d drew %+v, then %+v", seed, topology.Link, again.Link)
		}
		if topology.Link.Latency < time.Millisecond || topology.Link.Latency > 20*time.Millisecond ||
			topology.Link.Jitter > 5*time.Millisecond ||
			workload.SendInterval < time.Second || workload.SendInterval > 3*time.Second ||
			varied[0].At < 8*time.Second || varied[0].At > 12*time.Second {
			t.Fatalf("seed %d drew outside the ranges: %+v %v %v", seed, topology.Link, workload.SendInterval, varied[0].At)
		}
		latencies[topology.Link.Latency] = true
	}
	if len(latencies) < 10 {
		t.Fatalf("20 seeds drew only %d different latencies", len(latencies))
	}
	if faults[0].At != 10*time.Second {
		t.Fatal("Vary changed the caller's faults")
	}
}
