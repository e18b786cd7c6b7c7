package reports

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A real run's report carries the newest sim run of the same scenario
// content, seed, delivery and mutation, in report.json and on its page; a
// sim run and a real run without a twin carry none.
func TestRealRunComparedWithSimTwin(t *testing.T) {
	dir := t.TempDir()
	older, twin := sample(), sample()
	older.StartedAt = twin.StartedAt.Add(-time.Hour)
	older.Stats.Sent = 1
	for _, r := range []*Report{older, twin} {
		if _, err := Write(dir, r, nil); err != nil {
			t.Fatal(err)
		}
		if r.ComparedWith != nil {
			t.Fatalf("a sim run was compared with %+v", r.ComparedWith)
		}
	}
	// Newer sim runs that are other experiments: none is the twin.
	otherSeed, mutated, edited, otherMode, unhashed := sample(), sample(), sample(), sample(), sample()
	otherSeed.Seed = 43
	mutated.Mutation, mutated.Verdict = "drop", Fail
	edited.ScenarioHash = "0000000000000001"
	otherMode.Delivery = "pubsub"
	unhashed.ScenarioHash = ""
	for _, r := range []*Report{otherSeed, mutated, edited, otherMode, unhashed} {
		r.StartedAt = twin.StartedAt.Add(time.Hour)
		if _, err := Write(dir, r, nil); err != nil {
			t.Fatal(err)
		}
	}

	real := sample()
	real.Target, real.TraceHash, real.Verdict = "local", "", Pass
	real.Checks = []Check{{Name: "no-loss", OK: true, Expect: "hold"}}
	real.Stats = Stats{Sent: 1108, Acked: 1108, Delivered: 32934}
	real.StartedAt = twin.StartedAt.Add(2 * time.Hour)
	runDir, err := Write(dir, real, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := real.ComparedWith
	if got == nil || got.RunID != twin.RunID || got.Verdict != Fail || got.Stats != twin.Stats || got.Target != "sim" {
		t.Fatalf("compared with %+v, want the newest sim run %s of seed 42", got, twin.RunID)
	}
	back, err := Read(filepath.Join(runDir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	if back.ComparedWith == nil || back.ComparedWith.Stats.Sent != 1200 {
		t.Fatalf("report.json compared_with %+v", back.ComparedWith)
	}
	page, err := os.ReadFile(filepath.Join(runDir, PageFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Compared with the simulator", twin.RunID, "reached a different verdict", "32934", "1200"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the page does not show %q", want)
		}
	}

	lonely := sample()
	lonely.Target, lonely.Scenario = "docker", "redis-restart"
	if _, err := Write(dir, lonely, nil); err != nil {
		t.Fatal(err)
	}
	if lonely.ComparedWith != nil {
		t.Fatalf("a run with no sim twin was compared with %+v", lonely.ComparedWith)
	}
}
