package chaos

import (
	"fmt"
	"testing"
	"time"

	"chatlab/chaos/check"
	"chatlab/scenarios"
)

// phaseRecorder is an observer that keeps the phases it hears.
type phaseRecorder struct{ phases []string }

func (r *phaseRecorder) Step(time.Duration, Step)     {}
func (r *phaseRecorder) Sample(Sample, check.History) {}
func (r *phaseRecorder) Checked([]check.Check)        {}
func (r *phaseRecorder) Phase(phase Phase, at time.Duration) {
	r.phases = append(r.phases, fmt.Sprintf("%s@%s", phase, at))
}

// A run tells a phase observer each phase as it begins, in order, with
// the run time it begins at.
func TestRunAnnouncesItsPhases(t *testing.T) {
	recorder := &phaseRecorder{}
	sc, err := scenarios.Load("node-restart")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(t.Context(), RunOptions{Scenario: sc, Seed: 1, Observer: recorder,
		Cluster: NewSimCluster(sc, SimOptions{Seed: 1})}); err != nil {
		t.Fatal(err)
	}
	// node-restart holds no-ghosts: its clients leave after converging.
	want := fmt.Sprint([]string{"starting@0s", "running@0s", "converging@20s"})
	if len(recorder.phases) != 5 || fmt.Sprint(recorder.phases[:3]) != want || recorder.phases[3][:8] != "leaving@" ||
		recorder.phases[4][:9] != "checking@" {
		t.Fatalf("phases %v; want %s, then leaving and checking", recorder.phases, want)
	}
}
