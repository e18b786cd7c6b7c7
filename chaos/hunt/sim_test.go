package hunt

import (
	"context"
	"testing"

	"chatlab/chaos"
)

// On the simulator, a hunt is a replay: the same seed runs the same
// scenarios event for event (same trace hashes), and two shards run
// exactly the whole hunt's runs.
func TestSimHuntIsDeterministicAndShards(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the simulator")
	}
	ctx := context.Background()
	options := Options{Seed: 11, Runs: 4, Workers: 2}
	whole, err := Hunt(ctx, options)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Hunt(ctx, options)
	if err != nil {
		t.Fatal(err)
	}
	var parts []RunRecord
	for i := 1; i <= 2; i++ {
		shard := options
		shard.Shard = chaos.Shard{Index: i, Count: 2}
		part, err := Hunt(ctx, shard)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, part.Runs...)
	}
	if len(whole.Runs) != 4 || len(again.Runs) != 4 || len(parts) != 4 {
		t.Fatalf("runs: %d, %d, shards %d", len(whole.Runs), len(again.Runs), len(parts))
	}
	byIndex := map[int]RunRecord{}
	for _, r := range parts {
		byIndex[r.Index] = r
	}
	for i, r := range whole.Runs {
		if r.TraceHash == "" || r.Error != "" {
			t.Fatalf("run %d: no trace (%s)", r.Index, r.Error)
		}
		if again.Runs[i].TraceHash != r.TraceHash || byIndex[r.Index].TraceHash != r.TraceHash ||
			byIndex[r.Index].ScenarioHash != r.ScenarioHash {
			t.Errorf("run %d differs between hunts of one seed", r.Index)
		}
	}
}
