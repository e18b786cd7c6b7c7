package mutants

import (
	"fmt"
	"io"
	"strings"
)

// Score sums a catalogue run per sweep: of the mutants judged (not
// broken), how many were killed, and by which target.
type Score struct {
	// Sim counts mutants of code the simulator runs, killed by the sim
	// sweep; Local those of code only real targets run, killed by either
	// sweep.
	Sim, Local Tally
	// Tests counts, among mutants whose package tests ran, those caught.
	Tests  Tally
	Broken int
}

// Tally is killed out of judged.
type Tally struct {
	Killed, Judged int
}

// Percent is the share killed, 0 when nothing was judged.
func (t Tally) Percent() float64 {
	if t.Judged == 0 {
		return 0
	}
	return 100 * float64(t.Killed) / float64(t.Judged)
}

func (t Tally) String() string {
	return fmt.Sprintf("%d/%d (%.0f%%)", t.Killed, t.Judged, t.Percent())
}

// ScoreOf sums outcomes.
func ScoreOf(outcomes []Outcome) Score {
	var s Score
	for _, o := range outcomes {
		if o.Status == Broken {
			s.Broken++
			continue
		}
		tally := &s.Sim
		if o.Sweep == SweepLocal {
			tally = &s.Local
		}
		tally.Judged++
		if o.Status == Killed {
			tally.Killed++
		}
		if o.Tests != "" {
			s.Tests.Judged++
			if o.Tests == "caught" {
				s.Tests.Killed++
			}
		}
	}
	return s
}

// Line is one outcome as a person reads it.
func (o Outcome) Line() string {
	var b strings.Builder
	switch {
	case o.Status == Killed && o.Scenario == "hunt":
		fmt.Fprintf(&b, "KILLED    %-34s by chatlab hunt's generated scenarios on sim: %s (%d runs, %.0f s)", o.Name,
			strings.Join(o.Checks, ", "), o.Runs, o.Seconds)
	case o.Status == Killed:
		fmt.Fprintf(&b, "KILLED    %-34s by %s on %s seed %d: %s (%d runs, %.0f s)", o.Name, o.Scenario, o.Target, o.Seed,
			strings.Join(o.Checks, ", "), o.Runs, o.Seconds)
	case o.Status == Survived:
		fmt.Fprintf(&b, "SURVIVED  %-34s %d runs, %d seeds (%.0f s): %s", o.Name, o.Runs, o.SeedsTried, o.Seconds, o.Description)
		if o.Note != "" {
			fmt.Fprintf(&b, " (known survivor: %s)", o.Note)
		}
	default:
		fmt.Fprintf(&b, "BROKEN    %-34s %s", o.Name, o.Detail)
	}
	if o.Tests != "" {
		fmt.Fprintf(&b, " [go test: %s]", o.Tests)
	}
	if o.Hunt != nil {
		fmt.Fprintf(&b, " [%s]", o.Hunt)
	}
	return b.String()
}

// Print writes every outcome and the score.
func Print(w io.Writer, outcomes []Outcome) {
	for _, o := range outcomes {
		fmt.Fprintln(w, o.Line())
	}
	s := ScoreOf(outcomes)
	total := Tally{Killed: s.Sim.Killed + s.Local.Killed, Judged: s.Sim.Judged + s.Local.Judged}
	fmt.Fprintf(w, "mutation score: %s killed; simulator-run code %s by the sim sweep, real-target code %s by the sim and local sweeps",
		total, s.Sim, s.Local)
	if s.Tests.Judged > 0 {
		fmt.Fprintf(w, "; go test caught %s", s.Tests)
	}
	if s.Broken > 0 {
		fmt.Fprintf(w, "; %d broken (fix the catalogue)", s.Broken)
	}
	fmt.Fprintln(w)
}
