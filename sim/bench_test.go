package sim

import (
	"testing"
	"time"

	"chatlab/system/node"
)

// BenchmarkNodeRestartStory runs the node-restart story (3 nodes, the
// balancer, 100 clients, n2 crashed and restarted) and reports how much
// faster than real time the simulator runs it.
func BenchmarkNodeRestartStory(b *testing.B) {
	var simulated time.Duration
	var events uint64
	start := time.Now()
	for i := 0; i < b.N; i++ {
		c := nodeRestartStory(b, node.Recover, uint64(i+1))
		simulated += c.Now()
		events += c.World().Processed()
	}
	wall := time.Since(start)
	b.ReportMetric(simulated.Seconds()/wall.Seconds(), "sim-s/wall-s")
	b.ReportMetric(float64(events)/wall.Seconds(), "events/s")
	b.ReportMetric(float64(events)/float64(b.N), "events/run")
	speed := simulated.Seconds() / wall.Seconds()
	b.Logf("goal: at least %d sim-s/wall-s on a quiet 2-core machine: %.0f, %s", simSpeedGoal, speed, goalVerdict(speed >= simSpeedGoal))
}

// simSpeedGoal is how many times faster than real time the simulator
// should run the node-restart story.
const simSpeedGoal = 1000

func goalVerdict(met bool) string {
	if met {
		return "met"
	}
	return "NOT met"
}
