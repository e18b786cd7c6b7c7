package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"chatlab/reports"
)

// The simulator refuses a scenario judged on the processes themselves
// (no-leak) as bad usage, saying why and where to run it; a sweep too.
func TestSimRefusesNoLeak(t *testing.T) {
	file := filepath.Join(t.TempDir(), "leaky.yaml")
	scenario := "name: leaky\ndescription: churn, then judge the processes.\n" +
		"workload: {clients: 4, rooms: 1, send_rate: 1/s, duration: 5s, reconnects: 6/min}\nexpect: {hold: [no-loss, no-leak]}\n"
	if err := os.WriteFile(file, []byte(scenario), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--file", file}, {"--file", file, "--seeds", "1-3"}} {
		code, stdout, stderr := runCommand(t, context.Background(), append([]string{"chaos", "--out", t.TempDir()}, args...)...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, "expects no-leak") || !strings.Contains(stderr, "--target local") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2, no-leak and where to run it", args, code, stdout, stderr)
		}
	}
}

// scenarios --names --target lists what a target runs, for scripts that
// loop over scenarios (make sweep, CI).
func TestScenarioNamesForATarget(t *testing.T) {
	names := func(target string) []string {
		code, stdout, stderr := runCommand(t, context.Background(), "scenarios", "--names", "--target", target)
		if code != 0 {
			t.Fatalf("--target %s: exit %d, %s", target, code, stderr)
		}
		return strings.Fields(stdout)
	}
	sim, local, docker := names("sim"), names("local"), names("docker")
	if !slices.Contains(sim, "node-restart") || slices.Contains(sim, "soak") || !slices.Contains(local, "soak") ||
		!slices.Contains(sim, "redis-failover") || !slices.Contains(local, "redis-failover") || len(sim) != len(local) ||
		slices.Contains(sim, "soak") || !slices.Contains(sim, "redis-shard-partition") || slices.Contains(local, "redis-shard-partition") {
		t.Errorf("sim: %v (local: %v); want every built-in scenario but soak (judged on processes alone) on sim, "+
			"every one but redis-shard-partition (no proxy to cut a cluster's server off) on local", sim, local)
	}
	if slices.Contains(docker, "redis-failover-unsafe") {
		t.Errorf("docker %v: want no scenario on a Redis Cluster", docker)
	}
	if !slices.Contains(local, "network-delay") || slices.Contains(docker, "network-delay") || !slices.Contains(docker, "node-restart") {
		t.Errorf("local %v, docker %v", local, docker)
	}
	if code, _, _ := runCommand(t, context.Background(), "scenarios", "--target", "moon"); code != 2 {
		t.Errorf("--target moon: exit %d, want 2", code)
	}
}

// --duration runs the workload for another length, and the replay command
// says so; a length that would cut off a fault is refused, naming it;
// --duration-max shortens only what is longer.
func TestChaosDuration(t *testing.T) {
	out := t.TempDir()
	code, _, stderr := runCommand(t, context.Background(), "chaos", "--scenario", "node-restart", "--duration", "16s", "--out", out)
	if code != 0 {
		t.Fatalf("--duration 16s: exit %d: %s", code, stderr)
	}
	written, _ := filepath.Glob(filepath.Join(out, "runs", "*", reports.ReportFile))
	if len(written) != 1 {
		t.Fatalf("reports: %v", written)
	}
	report, err := reports.Read(written[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(report.Command, "--seed 1 --duration 16s") {
		t.Errorf("replay %q does not give the duration", report.Command)
	}
	for _, args := range [][]string{
		{"--scenario", "node-restart", "--duration", "10s"},
		{"--scenario", "node-restart", "--duration", "30s", "--duration-max", "60s"},
	} {
		code, _, stderr := runCommand(t, context.Background(), append([]string{"chaos", "--out", t.TempDir()}, args...)...)
		if code != 2 || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2", args, code, stderr)
		}
	}
	os.RemoveAll(out)
}

// --redis cluster on sim runs a scenario on the simulator's Redis Cluster;
// one whose faults act on the one Redis is refused (exit 2), and docker
// takes no --redis at all.
func TestChaosRedisClusterOnSim(t *testing.T) {
	code, stdout, stderr := runCommand(t, context.Background(), "chaos", "--scenario", "redis-restart", "--redis", "cluster", "--out", t.TempDir())
	if code != 2 || !strings.Contains(stderr, "one Redis") {
		t.Errorf("redis-restart on the sim's cluster: exit %d, stdout %q, stderr %q; want 2 and why", code, stdout, stderr)
	}
	code, _, stderr = runCommand(t, context.Background(), "chaos", "--scenario", "node-restart", "--target", "docker", "--redis", "cluster")
	if code != 2 || !strings.Contains(stderr, "--redis") {
		t.Errorf("--redis on docker: exit %d, stderr %q; want 2", code, stderr)
	}
}
