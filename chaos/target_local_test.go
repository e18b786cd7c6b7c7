package chaos

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"chatlab/chaos/local"
	"chatlab/scenarios"
	"chatlab/system/client"
)

// realRunWait bounds one real run in a test, start to stop; it is a
// failure deadline, not a speed assertion.
const realRunWait = 2 * time.Minute

// buildChatlab builds the chatlab binary into the test's own directory
// (Go's build cache makes a second build a link).
func buildChatlab(t *testing.T) string {
	t.Helper()
	binary := filepath.Join(t.TempDir(), "chatlab")
	build := exec.Command("go", "build", "-o", binary, "chatlab/cmd/chatlab")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if output, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build chatlab: %v\n%s", err, output)
	}
	return binary
}

// shortRestart is node-restart cut to eight seconds: n1 is down from 4 s
// to 6 s under steady traffic with join/leave churn.
const shortRestart = `
name: short-restart
description: node-restart, shortened for a test.
topology:
  nodes: 3
  policy: least-conn
  delivery: DELIVERY
  redis_persistence: aof
workload:
  clients: 24
  rooms: 3
  send_rate: 2/s
  message_bytes: 32
  duration: 8s
  join_leave: 6/min
faults:
  - at: 4s
    action: restart
    target: n1
    duration: 2s            # down from 4 s to 6 s
expect:
  EXPECT
  converge_within: 15s
`

func parseScenario(t *testing.T, text string, replacements ...string) *scenarios.Scenario {
	t.Helper()
	for i := 0; i+1 < len(replacements); i += 2 {
		text = strings.Replace(text, replacements[i], replacements[i+1], 1)
	}
	sc, err := scenarios.Parse("test.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func runLocal(t *testing.T, sc *scenarios.Scenario, seed uint64) *Result {
	t.Helper()
	return runLocalOn(t, sc, seed, "")
}

// runLocalOn is runLocal on the given Redis (LocalOptions.Redis).
func runLocalOn(t *testing.T, sc *scenarios.Scenario, seed uint64, redis string) *Result {
	t.Helper()
	binary := buildChatlab(t)
	runDir := t.TempDir()
	cluster, err := NewLocalCluster(sc, LocalOptions{Seed: seed, Delivery: sc.Topology.Delivery, Binary: binary, RunDir: runDir,
		Redis: redis})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), realRunWait)
	defer cancel()
	result, err := Run(ctx, RunOptions{Scenario: sc, Cluster: cluster, Seed: seed, Delivery: sc.Topology.Delivery})
	if err != nil {
		dumpRunLogs(t, runDir)
		t.Fatal(err)
	}
	s := result.Stats
	t.Logf("%s on local: %s; sent %d, acked %d, delivered %d, lost %d, duplicated %d; p50 %.0f ms, p99 %.0f ms; wall %d ms",
		sc.Name, result.Verdict, s.Sent, s.Acked, s.Delivered, s.Lost, s.Duplicated, s.LatencyMs.P50, s.LatencyMs.P99, result.WallMs)
	if !result.Passed() {
		dumpRunLogs(t, runDir)
	}
	return result
}

func dumpRunLogs(t *testing.T, dir string) {
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, path := range logs {
		data, _ := os.ReadFile(path)
		if len(data) > 3000 {
			data = data[len(data)-3000:]
		}
		t.Logf("--- %s (tail)\n%s", filepath.Base(path), data)
	}
}

// node-restart on real processes, end to end through the runner: traffic
// flows, n1's clients reconnect elsewhere and resume, nothing is lost,
// doubled or reordered, and the history is on the run's clock.
func TestLocalNodeRestartPasses(t *testing.T) {
	sc := parseScenario(t, shortRestart, "DELIVERY", "recover",
		"EXPECT", "hold: [no-loss, no-duplicates, order, resume, linearizable, liveness]")
	result := runLocal(t, sc, 1)
	if !result.Passed() {
		t.Fatalf("verdict %s: %v", result.Verdict, result.Failures)
	}
	s := result.Stats
	if s.Sent < 100 || s.Acked != s.Sent || s.Delivered < 10*s.Sent || s.Lost != 0 || s.Duplicated != 0 {
		t.Fatalf("sent %d, acked %d, delivered %d, lost %d, duplicated %d: want steady traffic, all acked, none lost",
			s.Sent, s.Acked, s.Delivered, s.Lost, s.Duplicated)
	}
	reconnected, welcomedByN1, lastMs := 0, 0, int64(0)
	for _, r := range result.History {
		if r.AtMs < lastMs {
			t.Fatalf("history out of time order at %+v", r)
		}
		lastMs = r.AtMs
		switch {
		case r.Kind == client.KindDisconnected && r.Node == "n1":
			reconnected++
		case r.Kind == client.KindWelcome && r.Node == "n1":
			welcomedByN1++
		}
	}
	if reconnected == 0 || welcomedByN1 == 0 {
		t.Fatalf("%d clients dropped by n1, %d welcomed by it: the restart missed the clients", reconnected, welcomedByN1)
	}
	if lastMs < 7000 || lastMs > realRunWait.Milliseconds() {
		t.Fatalf("last event at %d ms: the history is not on the run's clock", lastMs)
	}
	sawN1Down := false
	for _, sample := range result.Samples {
		if !sample.Up["n1"] && sample.AtMs > 4500 && sample.AtMs < 5500 {
			sawN1Down = true
		}
	}
	if len(result.Samples) < 5 || !sawN1Down {
		t.Fatalf("%d samples, n1 seen down in its window: %v", len(result.Samples), sawN1Down)
	}
	// Every process's runtime figures were read, and n1's restart shows
	// as a second process, started within its window.
	starts := map[string][]int64{}
	for _, sample := range result.Samples {
		for _, r := range sample.Runtime {
			if r.Goroutines <= 0 || r.HeapBytes <= 0 || r.OpenFDs <= 0 || r.AtMs != sample.AtMs {
				t.Fatalf("runtime sample %+v of the sample at %d ms", r, sample.AtMs)
			}
			if !slices.Contains(starts[r.Member], r.StartedMs) {
				starts[r.Member] = append(starts[r.Member], r.StartedMs)
			}
		}
	}
	for _, member := range []string{"n1", "n2", "n3", "balancer"} {
		want := 1
		if member == "n1" {
			want = 2
		}
		if len(starts[member]) != want || starts[member][0] > 0 {
			t.Fatalf("%s's processes started at %v ms: want %d, the first before the run", member, starts[member], want)
		}
	}
	if restarted := starts["n1"][1]; restarted < 4000 || restarted > 7000 {
		t.Fatalf("n1's second process started at %d ms, outside its restart window", restarted)
	}
}

// node-restart on a real Redis Cluster (3 masters, 3 replicas): the nodes
// run on --redis-cluster with sharded pub/sub, and nothing is lost. Faults
// on the one Redis are refused there.
func TestLocalNodeRestartPassesOnRedisCluster(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not on PATH: a Redis Cluster needs it")
	}
	sc := parseScenario(t, shortRestart, "DELIVERY", "recover", "EXPECT", "hold: [no-loss, no-duplicates, order, resume, liveness]")
	result := runLocalOn(t, sc, 1, local.RedisCluster)
	if !result.Passed() {
		t.Fatalf("verdict %s: %v", result.Verdict, result.Failures)
	}
	if !strings.Contains(result.Redis, "Redis Cluster") || result.Stats.Sent < 100 || result.Stats.Lost != 0 {
		t.Fatalf("ran on %q: sent %d, lost %d; want a Redis Cluster, steady traffic, nothing lost",
			result.Redis, result.Stats.Sent, result.Stats.Lost)
	}
	restart := parseScenario(t, shortRestart, "DELIVERY", "recover", "EXPECT", "hold: [no-loss]",
		"action: restart\n    target: n1", "action: redis-restart")
	if _, err := NewLocalCluster(restart, LocalOptions{Binary: "chatlab", Redis: local.RedisCluster}); !errors.As(err, new(*RefusedError)) {
		t.Fatalf("a redis-restart on a Redis Cluster: %v; want it refused", err)
	}
}

// A failover without replica acks, on a real Redis Cluster, is caught: the
// promoted replica never had the sends its master acked while cut off from
// it, and hands their seqs to new messages.
func TestLocalRedisFailoverUnsafeIsCaught(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not on PATH: a Redis Cluster needs it")
	}
	sc, err := scenarios.Load("redis-failover-unsafe")
	if err != nil {
		t.Fatal(err)
	}
	result := runLocal(t, sc, 1)
	if !result.Passed() {
		t.Fatalf("verdict %s: %v", result.Verdict, result.Failures)
	}
}

// The naive pubsub mode on real processes must be caught losing what was
// published while n1's clients were away.
func TestLocalPubSubCaughtLosing(t *testing.T) {
	sc := parseScenario(t, shortRestart, "DELIVERY", "pubsub", "EXPECT", "break: [no-loss]")
	result := runLocal(t, sc, 2)
	if !result.Passed() {
		t.Fatalf("verdict %s: %v", result.Verdict, result.Failures)
	}
	if result.Stats.Lost == 0 || result.Stats.Sent == 0 {
		t.Fatalf("sent %d, lost %d: the pubsub mode was not caught losing", result.Stats.Sent, result.Stats.Lost)
	}
}
