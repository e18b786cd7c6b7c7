package sim

import (
	"testing"
	"time"

	"chatlab/system/node"
)

// nodeRestartStory is the story of issue 4: three nodes behind the
// balancer, 100 clients in 10 rooms sending for 30 s, n2 crashed at 10 s
// and restarted at 15 s.
func nodeRestartStory(t testing.TB, delivery node.Delivery, seed uint64) *Cluster {
	c := NewCluster(Topology{Delivery: delivery,
		Link: LinkSpec{Latency: time.Millisecond, Jitter: 2 * time.Millisecond, Distribution: Exponential}}, seed)
	c.AddWorkload(Workload{Clients: 100, Rooms: 10, Stop: 30 * time.Second, SendInterval: 2 * time.Second})
	for _, f := range []struct {
		at    time.Duration
		fault Fault
	}{
		{10 * time.Second, Fault{Action: Crash, Target: "n2"}},
		{15 * time.Second, Fault{Action: Restart, Target: "n2"}},
	} {
		if err := c.At(f.at, f.fault); err != nil {
			t.Fatal(err)
		}
	}
	if !c.RunUntilQuiet(120 * time.Second) {
		t.Fatalf("seed %d: the cluster did not settle by %v", seed, c.Now())
	}
	return c
}

func TestNodeRestartLosesNothingInRecoverMode(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		c := nodeRestartStory(t, node.Recover, seed)
		report := CheckDelivery(c.History())
		t.Logf("seed %d: sent %d acked %d delivered %d lost %d duplicated %d reordered %d at %v",
			seed, report.Sent, report.Acked, report.Delivered, report.Lost, report.Duplicated, report.Reordered, c.Now())
		if report.Acked != report.Sent || report.Acked < 1000 {
			t.Errorf("seed %d: %d of %d sends acked; expected all, and at least 1000", seed, report.Acked, report.Sent)
		}
		if !report.OK() {
			t.Errorf("seed %d: %v", seed, report.Violations)
		}
		if reconnected := reconnects(c); reconnected == 0 {
			t.Errorf("seed %d: no client reconnected: the crash did not hit anyone", seed)
		}
	}
}

func TestNodeRestartLosesMessagesInPubSubMode(t *testing.T) {
	c := nodeRestartStory(t, node.PubSub, 1)
	report := CheckDelivery(c.History())
	t.Logf("sent %d acked %d delivered %d lost %d duplicated %d reordered %d",
		report.Sent, report.Acked, report.Delivered, report.Lost, report.Duplicated, report.Reordered)
	if report.Lost == 0 {
		t.Fatal("pubsub mode lost nothing across a node crash; the checker or the simulation is blind")
	}
}

func reconnects(c *Cluster) int {
	total := 0
	for _, h := range c.Clients() {
		total += h.Client().Snapshot().Reconnects
	}
	return total
}
