package scenarios

import (
	"strings"
	"testing"
	"time"
)

// A scenario run for another duration keeps everything else, and a
// duration that would cut off one of its faults is refused, naming it.
// Faults that begin at or after a shorter run's end are left out.
func TestWithDuration(t *testing.T) {
	base, err := Load("node-restart")
	if err != nil {
		t.Fatal(err)
	}
	longer, err := base.WithDuration(90 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if longer.Workload.Duration != 90*time.Second || len(longer.Faults) != len(base.Faults) || longer.File != base.File {
		t.Fatalf("run for 90s: %+v, faults %v, file %q", longer.Workload, longer.Faults, longer.File)
	}
	longer.Workload.Duration = base.Workload.Duration
	if longer.Hash() != base.Hash() {
		t.Fatal("only the duration may change")
	}
	if _, err := base.WithDuration(10 * time.Second); err == nil || !strings.Contains(err.Error(), "fault 1 (restart n1 at 8s) ends at 12s") {
		t.Fatalf("a duration cutting off the restart: err %v", err)
	}
	if _, err := base.WithDuration(8 * time.Second); err != nil {
		t.Fatalf("a run ending as the restart begins leaves it out: %v", err)
	}
	if _, err := base.WithDuration(2 * time.Hour); err == nil || !strings.Contains(err.Error(), "duration") {
		t.Fatalf("two hours: err %v", err)
	}
}

// The soak, shortened as CI runs it, keeps its first minute: the first
// round of faults, whole.
func TestWithDurationKeepsTheSoaksFirstRound(t *testing.T) {
	soak, err := Load("soak")
	if err != nil {
		t.Fatal(err)
	}
	short, err := soak.WithDuration(time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(short.Faults) != 3 || len(soak.Faults) != 30 {
		t.Fatalf("soak for a minute: %d of %d faults", len(short.Faults), len(soak.Faults))
	}
	for i, f := range short.Faults {
		if f != soak.Faults[i] || f.End() > time.Minute {
			t.Fatalf("fault %d: %+v, want %+v within the minute", i+1, f, soak.Faults[i])
		}
	}
}
