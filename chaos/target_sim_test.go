package chaos

import (
	"context"
	"testing"

	"chatlab/scenarios"
	"chatlab/sim"
)

// TestPubSubBreaksReachGapFill: the redis-partition scenario breaks every
// node's pub/sub connection now and then on the simulator; what Redis
// published meanwhile must be filled from the stream (the nodes' gap-fill
// path runs), and the scenario's expectations still hold. The path is
// rare: a link's own catch-up fills most gaps before a live message shows
// one. Since sends behind a failed publish fail with it (system/node
// order.go), seed 19 is the one of seeds 1-20 that reaches it (1 gap fill;
// seeds 1-2 had 1 before). pubsub-gaps, whose pushes are lost with the
// links up, reaches it on every seed (TestPubSubDropReachesGapFill).
func TestPubSubBreaksReachGapFill(t *testing.T) {
	sc := loadScenario(t, "redis-partition")
	if sc.Topology.PubSubBreakEvery == 0 {
		t.Fatal("redis-partition no longer sets pubsub_break_every")
	}
	simulated := runSimPassing(t, sc, 19)
	breaks, gapFills := simulated.RedisHost().PubSubBreaks(), simulated.GapFills()
	t.Logf("%d pub/sub connections broken, %d gap fills", breaks, gapFills)
	if breaks == 0 || gapFills == 0 {
		t.Fatalf("%d pub/sub connections broken, %d gap fills: the gap-fill path did not run", breaks, gapFills)
	}
}

// TestPubSubDropReachesGapFill: pubsub-gaps loses pub/sub pushes while the
// links stay up, so no catch-up of a link's comes first: a later live
// message shows each gap and the node fills it from the stream. The path
// must run on every seed, often, and the scenario's expectations hold (its
// room poll is longer than the run, so nothing else fills a gap).
func TestPubSubDropReachesGapFill(t *testing.T) {
	sc := loadScenario(t, "pubsub-gaps")
	for _, seed := range []uint64{1, 2, 3} {
		simulated := runSimPassing(t, sc, seed)
		dropped, gapFills := simulated.RedisHost().PushesDropped(), simulated.GapFills()
		t.Logf("seed %d: %d pub/sub pushes dropped, %d gap fills", seed, dropped, gapFills)
		// Each lost push makes a gap that one later message (or more, while
		// the fetch is on its way) shows; a handful is far below what the
		// windows lose.
		if dropped == 0 || gapFills < 5 {
			t.Errorf("seed %d: %d pushes dropped, %d gap fills: the gap-fill path hardly ran", seed, dropped, gapFills)
		}
	}
}

func loadScenario(t *testing.T, name string) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// runSimPassing runs sc on the simulator with seed, fails the test unless
// every expectation held, and returns the simulated cluster.
func runSimPassing(t *testing.T, sc *scenarios.Scenario, seed uint64) *sim.Cluster {
	t.Helper()
	cluster := NewSimCluster(sc, SimOptions{Seed: seed})
	result, err := Run(context.Background(), RunOptions{Scenario: sc, Seed: seed, Delivery: sc.Topology.Delivery, Cluster: cluster})
	if err != nil {
		t.Fatal(err)
	}
	if !result.Passed() {
		t.Fatalf("seed %d: verdict %s: %v", seed, result.Verdict, result.Failures)
	}
	return cluster.(*simCluster).Sim()
}
