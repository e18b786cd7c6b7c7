package sim

import (
	"testing"
	"time"

	"chatlab/chaos/check"
	"chatlab/system/node"
)

// nodeRestartStory is the simulator's founding story: three nodes behind the
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

// checkCluster judges a cluster's history with the chaos lab's checkers,
// so that the story tests and the lab cannot disagree on what a loss is.
func checkCluster(c *Cluster, delivery node.Delivery) ([]check.Check, check.Stats) {
	events := c.History()
	history := make(check.History, len(events))
	for i, e := range events {
		history[i] = check.Record{Client: e.Client, Event: e.Event}
	}
	return check.CheckHistory(history, check.CheckOptions{Delivery: string(delivery)})
}

// checkNamed is the verdict of the check called name.
func checkNamed(t testing.TB, checks []check.Check, name string) check.Check {
	t.Helper()
	for _, c := range checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s check among %+v", name, checks)
	return check.Check{}
}

func TestNodeRestartLosesNothingInRecoverMode(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		c := nodeRestartStory(t, node.Recover, seed)
		checks, stats := checkCluster(c, node.Recover)
		t.Logf("seed %d: %+v at %v", seed, stats, c.Now())
		if stats.Acked != stats.Sent || stats.Acked < 1000 {
			t.Errorf("seed %d: %d of %d sends acked; expected all, and at least 1000", seed, stats.Acked, stats.Sent)
		}
		for _, verdict := range checks {
			if !verdict.OK {
				t.Errorf("seed %d: %s: %s %+v", seed, verdict.Name, verdict.Detail, verdict.Examples)
			}
		}
		if reconnected := reconnects(c); reconnected == 0 {
			t.Errorf("seed %d: no client reconnected: the crash did not hit anyone", seed)
		}
	}
}

func TestNodeRestartLosesMessagesInPubSubMode(t *testing.T) {
	c := nodeRestartStory(t, node.PubSub, 1)
	checks, stats := checkCluster(c, node.PubSub)
	t.Logf("%+v", stats)
	if loss := checkNamed(t, checks, check.CheckNoLoss); stats.Lost == 0 || loss.OK {
		t.Fatalf("pubsub mode lost nothing across a node crash (%s); the checker or the simulation is blind", loss.Detail)
	}
}

func reconnects(c *Cluster) int {
	total := 0
	for _, h := range c.Clients() {
		total += h.Client().Snapshot().Reconnects
	}
	return total
}

func TestRedisAnswersCallsOutOfOrder(t *testing.T) {
	c := nodeRestartStory(t, node.Recover, 1)
	if overtaken := c.RedisHost().Overtaken(); overtaken == 0 {
		t.Fatal("every Redis call was answered in arrival order: the server's concurrency is not modelled")
	}
	inOrder := NewCluster(Topology{Redis: RedisSpec{CallSpread: -1}}, 1)
	inOrder.AddWorkload(Workload{Clients: 20, Rooms: 2, Stop: 5 * time.Second, SendInterval: 200 * time.Millisecond})
	inOrder.RunUntilQuiet(30 * time.Second)
	if overtaken := inOrder.RedisHost().Overtaken(); overtaken != 0 {
		t.Fatalf("a negative call spread still reordered %d answers", overtaken)
	}
}

// TestPubSubBreaksRunGapFill: with pub/sub connections that break now and
// then, messages published meanwhile never reach the node live; it must
// notice (a gap, or the link's LinkDown and LinkUp) and fill from history,
// and no client may lose anything.
func TestPubSubBreaksRunGapFill(t *testing.T) {
	gapFills := 0
	for seed := uint64(1); seed <= 3; seed++ {
		c := NewCluster(Topology{Redis: RedisSpec{PubSubBreakEvery: 2 * time.Second},
			Link: LinkSpec{Latency: time.Millisecond, Jitter: 2 * time.Millisecond, Distribution: Exponential}}, seed)
		c.AddWorkload(Workload{Clients: 60, Rooms: 4, Stop: 20 * time.Second, SendInterval: 200 * time.Millisecond})
		if !c.RunUntilQuiet(90 * time.Second) {
			t.Fatalf("seed %d: the cluster did not settle by %v", seed, c.Now())
		}
		checks, stats := checkCluster(c, node.Recover)
		t.Logf("seed %d: %d pub/sub breaks, %d gap fills; %+v", seed, c.RedisHost().PubSubBreaks(), c.GapFills(), stats)
		if c.RedisHost().PubSubBreaks() == 0 {
			t.Errorf("seed %d: no pub/sub connection broke", seed)
		}
		if stats.Acked != stats.Sent {
			t.Errorf("seed %d: %d of %d sends acked", seed, stats.Acked, stats.Sent)
		}
		for _, verdict := range checks {
			if !verdict.OK {
				t.Errorf("seed %d: %s: %s %+v", seed, verdict.Name, verdict.Detail, verdict.Examples)
			}
		}
		gapFills += c.GapFills()
	}
	if gapFills == 0 {
		t.Error("no live message made a node fetch history: the gap-fill path never ran")
	}
}
