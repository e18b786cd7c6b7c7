package chaos

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"chatlab/scenarios"
)

// replaySeed is the simulator seed in a hunt finding's replay line.
var replaySeed = regexp.MustCompile(`(?m)^# Replay: .* --seed (\d+)$`)

// TestHuntFindingsStayFixed replays on the simulator every failure chatlab
// hunt found and shrank (testdata/hunt: the shrunk scenario file as the
// hunt wrote it, its replay line naming the seed) and holds it to every
// expectation the scenario lists: each was a bug, fixed since.
func TestHuntFindingsStayFixed(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "hunt", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no hunt findings in testdata/hunt (%v)", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			sc, err := scenarios.LoadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			m := replaySeed.FindSubmatch(data)
			if m == nil {
				t.Fatalf("%s has no replay line with a seed", file)
			}
			seed, err := strconv.ParseUint(string(m[1]), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			result, err := Run(context.Background(), RunOptions{Scenario: sc, Seed: seed, Delivery: sc.Topology.Delivery,
				Cluster: NewSimCluster(sc, SimOptions{Seed: seed})})
			if err != nil {
				t.Fatal(err)
			}
			if !result.Passed() {
				t.Fatalf("seed %d: verdict %s: %v", seed, result.Verdict, result.Failures)
			}
		})
	}
}
