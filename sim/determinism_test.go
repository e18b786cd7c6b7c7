package sim

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"chatlab/system/node"
)

// everyFaultWorld runs a small cluster through every kind of fault, so
// that the determinism tests cover every code path of the simulator.
func everyFaultWorld(t testing.TB, seed uint64) *Cluster {
	c, err := buildEveryFaultWorld(seed)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func buildEveryFaultWorld(seed uint64) (*Cluster, error) {
	c := NewCluster(Topology{
		Link:             LinkSpec{Latency: 2 * time.Millisecond, Jitter: 3 * time.Millisecond, Distribution: Exponential, LossPercent: 1},
		RedisPersistence: true,
		Redis:            RedisSpec{PubSubBreakEvery: 4 * time.Second},
	}, seed)
	c.AddWorkload(Workload{Clients: 20, Rooms: 4, RoomsPerClient: 2, Stop: 40 * time.Second, SendInterval: time.Second})
	faults := []struct {
		at    time.Duration
		fault Fault
	}{
		{3 * time.Second, Fault{Action: Crash, Target: "n1"}},
		{5 * time.Second, Fault{Action: Restart, Target: "n1"}},
		{7 * time.Second, Fault{Action: Partition, Target: "n2", Peer: RedisName}},
		{9 * time.Second, Fault{Action: Heal, Target: "n2", Peer: RedisName}},
		{11 * time.Second, Fault{Action: Pause, Target: "n3"}},
		{12 * time.Second, Fault{Action: Resume, Target: "n3"}},
		{14 * time.Second, Fault{Action: Restart, Target: RedisName}},
		{17 * time.Second, Fault{Action: Drain, Target: "n1"}},
		{20 * time.Second, Fault{Action: Undrain, Target: "n1"}},
		{21 * time.Second, Fault{Action: Restart, Target: "n1"}},
		{23 * time.Second, Fault{Action: Partition, Target: BalancerName, Peer: "n2", OneWay: true}},
		{29 * time.Second, Fault{Action: Heal}},
		{30 * time.Second, Fault{Action: SetLink, Target: "c001", Peer: BalancerName, Link: LinkSpec{Latency: 50 * time.Millisecond, BandwidthBytesPerSecond: 2000}}},
		{31 * time.Second, Fault{Action: StopReading, Target: "c002"}},
		{33 * time.Second, Fault{Action: ResumeReading, Target: "c002"}},
		{34 * time.Second, Fault{Action: Restart, Target: BalancerName}},
	}
	for _, f := range faults {
		if err := c.At(f.at, f.fault); err != nil {
			return nil, err
		}
	}
	c.RunUntilQuiet(90 * time.Second)
	return c, nil
}

func TestSameSeedSameTrace(t *testing.T) {
	first := everyFaultWorld(t, 7)
	second := everyFaultWorld(t, 7)
	if first.TraceHash() != second.TraceHash() {
		t.Fatalf("seed 7 gave trace hashes %x and %x", first.TraceHash(), second.TraceHash())
	}
	if first.World().Processed() != second.World().Processed() || len(first.History()) != len(second.History()) {
		t.Fatalf("seed 7 gave %d and %d events", first.World().Processed(), second.World().Processed())
	}
	_, stats := checkCluster(first, node.Recover)
	t.Logf("hash %x, %d events, %v virtual; %+v", first.TraceHash(), first.World().Processed(), first.Now(), stats)
}

func TestDifferentSeedDifferentTrace(t *testing.T) {
	if everyFaultWorld(t, 7).TraceHash() == everyFaultWorld(t, 8).TraceHash() {
		t.Fatal("seeds 7 and 8 gave the same trace hash")
	}
}

// childSeedVariable makes the test binary, re-run by
// TestSameSeedSameTraceAcrossProcesses, print one world's hash and exit.
const childSeedVariable = "CHATLAB_SIM_CHILD_SEED"

func TestMain(m *testing.M) {
	if value := os.Getenv(childSeedVariable); value != "" {
		seed, err := strconv.ParseUint(value, 10, 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		c, err := buildEveryFaultWorld(seed)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Printf("hash %x\n", c.TraceHash())
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestSameSeedSameTraceAcrossProcesses(t *testing.T) {
	want := fmt.Sprintf("hash %x", everyFaultWorld(t, 7).TraceHash())
	for run := 0; run < 2; run++ {
		command := exec.Command(os.Args[0])
		command.Env = append(os.Environ(), childSeedVariable+"=7")
		output, err := command.Output()
		if err != nil {
			t.Fatalf("child process: %v", err)
		}
		if got := strings.TrimSpace(string(output)); got != want {
			t.Fatalf("child process %d printed %q; this process has %q", run, got, want)
		}
	}
}
