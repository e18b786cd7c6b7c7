package chaos

import (
	"context"
	"testing"

	"chatlab/scenarios"
)

// TestPubSubBreaksReachGapFill: the redis-partition scenario breaks every
// node's pub/sub connection now and then on the simulator; what Redis
// published meanwhile must be filled from the stream (the nodes' gap-fill
// path runs), and the scenario's expectations still hold. The path is
// rare: a link's own catch-up fills most gaps before a live message shows
// one. Since sends behind a failed publish fail with it (system/node
// order.go), seed 19 is the one of seeds 1-20 that reaches it (1 gap fill;
// seeds 1-2 had 1 before).
func TestPubSubBreaksReachGapFill(t *testing.T) {
	sc, err := scenarios.Load("redis-partition")
	if err != nil {
		t.Fatal(err)
	}
	if sc.Topology.PubSubBreakEvery == 0 {
		t.Fatal("redis-partition no longer sets pubsub_break_every")
	}
	breaks, gapFills := 0, 0
	for _, seed := range []uint64{19} {
		cluster := NewSimCluster(sc, SimOptions{Seed: seed})
		result, err := Run(context.Background(), RunOptions{Scenario: sc, Seed: seed, Delivery: sc.Topology.Delivery,
			Cluster: cluster})
		if err != nil {
			t.Fatal(err)
		}
		if !result.Passed() {
			t.Fatalf("seed %d: verdict %s: %v", seed, result.Verdict, result.Failures)
		}
		simulated := cluster.(*simCluster).Sim()
		breaks += simulated.RedisHost().PubSubBreaks()
		gapFills += simulated.GapFills()
	}
	t.Logf("%d pub/sub connections broken, %d gap fills", breaks, gapFills)
	if breaks == 0 || gapFills == 0 {
		t.Fatalf("%d pub/sub connections broken, %d gap fills: the gap-fill path did not run", breaks, gapFills)
	}
}
