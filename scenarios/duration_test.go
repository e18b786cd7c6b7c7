package scenarios

import (
	"strings"
	"testing"
	"time"
)

// A scenario run for another duration keeps everything else, and a
// duration that would cut off one of its faults is refused, naming it.
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
	if _, err := base.WithDuration(2 * time.Hour); err == nil || !strings.Contains(err.Error(), "duration") {
		t.Fatalf("two hours: err %v", err)
	}
}
