package reports

import (
	"os"
	"path/filepath"
)

// simRunsReadMax bounds the runs read while looking for a real run's
// simulated twin; a sweep can leave thousands.
const simRunsReadMax = 5000

// Comparison is another run of the same scenario content, seed, delivery
// and mutation, put
// next to this one: for a real target, the simulator's run, so that the
// report shows where the real system and its model differ.
type Comparison struct {
	RunID   string  `json:"run_id"`
	Target  string  `json:"target"`
	Verdict Verdict `json:"verdict"`
	Stats   Stats   `json:"stats"`
	WallMs  int64   `json:"wall_ms"`
}

// simTwin finds the newest sim run under dir/runs of r's scenario content,
// seed, delivery and mutation; nil when there is none. Anything else would
// compare two different experiments.
func simTwin(dir string, r *Report) *Comparison {
	entries, err := os.ReadDir(filepath.Join(dir, RunsDir))
	if err != nil {
		return nil
	}
	var twin *Report
	for _, entry := range entries[:min(len(entries), simRunsReadMax)] {
		if !entry.IsDir() {
			continue
		}
		other, err := Read(filepath.Join(dir, RunsDir, entry.Name(), ReportFile))
		if err != nil || other.Target != "sim" || !sameExperiment(other, r) {
			continue
		}
		if twin == nil || other.StartedAt.After(twin.StartedAt) {
			twin = other
		}
	}
	if twin == nil {
		return nil
	}
	return &Comparison{RunID: twin.RunID, Target: twin.Target, Verdict: twin.Verdict, Stats: twin.Stats, WallMs: twin.WallMs}
}

// sameExperiment reports whether two runs ran the same scenario content
// with the same seed, delivery mode and mutation. A report written before
// scenario hashes were recorded matches none.
func sameExperiment(a, b *Report) bool {
	return a.Scenario == b.Scenario && a.ScenarioHash != "" && a.ScenarioHash == b.ScenarioHash &&
		a.Seed == b.Seed && a.Delivery == b.Delivery && a.Mutation == b.Mutation
}
