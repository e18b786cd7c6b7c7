package chaos

import (
	"context"
	"strings"
	"testing"
	"time"

	"chatlab/scenarios"
)

// dockerReadyWaitTest bounds the check for a daemon and the images.
const dockerReadyWaitTest = 10 * time.Second

// node-restart on containers, end to end through the runner. It needs a
// Docker daemon and the images (make images); without them it skips,
// saying which is missing.
func TestDockerNodeRestartPasses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), dockerReadyWaitTest)
	err := DockerReady(ctx)
	cancel()
	if err != nil {
		t.Skipf("docker target not available here: %v", err)
	}
	sc := parseScenario(t, shortRestart, "DELIVERY", "recover",
		"EXPECT", "hold: [no-loss, no-duplicates, order, resume, linearizable, liveness]")
	cluster, err := NewDockerCluster(sc, DockerOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), realRunWait)
	defer cancel()
	result, err := Run(ctx, RunOptions{Scenario: sc, Cluster: cluster, Seed: 1, Delivery: sc.Topology.Delivery})
	if err != nil {
		t.Fatal(err)
	}
	s := result.Stats
	t.Logf("%s on docker: %s; sent %d, acked %d, delivered %d, lost %d, duplicated %d; p50 %.0f ms, p99 %.0f ms; wall %d ms",
		sc.Name, result.Verdict, s.Sent, s.Acked, s.Delivered, s.Lost, s.Duplicated, s.LatencyMs.P50, s.LatencyMs.P99, result.WallMs)
	if !result.Passed() {
		t.Fatalf("verdict %s: %v", result.Verdict, result.Failures)
	}
	if s.Sent < 100 || s.Acked != s.Sent || s.Lost != 0 || s.Duplicated != 0 {
		t.Fatalf("sent %d, acked %d, lost %d, duplicated %d: want steady traffic, all acked, none lost", s.Sent, s.Acked, s.Lost, s.Duplicated)
	}
}

// The docker target refuses, before starting anything, the faults Docker
// cannot make, naming the scenario and the fault.
func TestDockerRefusesOneWayPartitionAndShaping(t *testing.T) {
	for _, fault := range []string{
		"action: partition\n    target: n1-redis\n    direction: to",
		"action: delay\n    target: balancer-n1\n    latency: 50ms",
		"action: loss\n    target: n2-redis\n    percent: 5",
		"action: pubsub-drop\n    target: n1\n    percent: 5",
	} {
		sc := parseScenario(t, shortRestart, "DELIVERY", "recover", "EXPECT", "hold: [no-loss]",
			"action: restart\n    target: n1", fault)
		_, err := NewDockerCluster(sc, DockerOptions{Seed: 1})
		if err == nil || !strings.Contains(err.Error(), "scenario short-restart, fault 1") || !strings.Contains(err.Error(), "--target local") {
			t.Errorf("%s: error %v, want one naming the fault and pointing to --target local", strings.Fields(fault)[1], err)
		}
	}
	sc := parseScenario(t, shortRestart, "DELIVERY", "recover", "EXPECT", "hold: [no-loss]")
	if _, err := NewDockerCluster(sc, DockerOptions{}); err != nil {
		t.Fatalf("a node restart was refused: %v", err)
	}
	if sc.Faults[0].Action != scenarios.Restart {
		t.Fatalf("the test scenario's fault is %s", sc.Faults[0].Action)
	}
}
