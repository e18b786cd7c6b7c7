package mutants

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"chatlab/chaos/hunt"
)

// HuntOutcome is what `chatlab hunt` made of a mutant: whether generated
// scenarios (not the catalogue's own) found it within the budget, and how
// small shrinking made the failing scenario.
type HuntOutcome struct {
	Found bool `json:"found"`
	// Runs counts the generated runs made; Check is the first failure's
	// first failed check.
	Runs  int    `json:"runs"`
	Check string `json:"check,omitempty"`
	// FoundSeconds is the time until the failing run ended (shrink
	// excluded); Seconds the whole hunt's.
	FoundSeconds float64 `json:"found_seconds"`
	Seconds      float64 `json:"seconds"`
	// Before and After are the failing scenario's size and its shrunk
	// one's; ShrinkSeconds the shrink's time; Minimal says the shrink
	// reached a local minimum within its budget.
	Before        *hunt.Size `json:"before,omitempty"`
	After         *hunt.Size `json:"after,omitempty"`
	ShrinkSeconds float64    `json:"shrink_seconds,omitempty"`
	Minimal       bool       `json:"minimal,omitempty"`
	Replay        string     `json:"replay,omitempty"`
	// Error says why the hunt could not judge.
	Error string `json:"error,omitempty"`
}

// huntMutant runs the mutant's binary's hunt for budget, stopping at the
// first failure (one worker, so the figures are a single machine's).
func huntMutant(ctx context.Context, binary, out string, seed uint64, budget time.Duration) *HuntOutcome {
	started := time.Now()
	result := &HuntOutcome{}
	defer func() { result.Seconds = time.Since(started).Seconds() }()
	// The shrink of the failure may take up to its budget after --for.
	ctx, cancel := context.WithTimeout(ctx, budget+3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "hunt", "--for", budget.String(), "--max-failures", "1", "--workers", "1",
		"--seed", fmt.Sprint(seed), "--out", out)
	cmd.WaitDelay = 10 * time.Second
	output, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() == 1:
	case strings.Contains(string(output), "panic: ") || strings.Contains(string(output), "fatal error: "):
		// A generated run crashed the simulator (the hunt runs it in its
		// own process): found, as a crash, with nothing to shrink.
		result.Found, result.Check = true, "crash"
		return result
	default:
		result.Error = fmt.Sprintf("%v: %s", err, lastLine(string(output)))
		return result
	}
	data, readErr := os.ReadFile(filepath.Join(out, hunt.SummaryFile))
	if readErr != nil {
		result.Error = fmt.Sprintf("%v: %s", readErr, lastLine(string(output)))
		return result
	}
	var summary hunt.Summary
	if err := json.Unmarshal(data, &summary); err != nil {
		result.Error = err.Error()
		return result
	}
	result.Runs = len(summary.Runs)
	failures := summary.Failures()
	if len(failures) == 0 {
		return result
	}
	first := failures[0]
	result.Found = true
	if len(first.Failed) > 0 {
		result.Check = first.Failed[0]
	} else {
		result.Check = first.Verdict
	}
	var wall int64
	for _, r := range summary.Runs {
		if r.Index <= first.Index {
			wall += r.WallMs
		}
	}
	result.Replay = first.Replay
	if s := first.Shrunk; s != nil {
		wall -= s.WallMs
		before, after := s.Before, s.After
		result.Before, result.After = &before, &after
		result.ShrinkSeconds, result.Minimal = float64(s.WallMs)/1000, s.Minimal
		if s.Replay != "" {
			result.Replay = s.Replay
		}
	}
	result.FoundSeconds = float64(wall) / 1000
	return result
}

// String is the hunt's outcome as a person reads it.
func (h *HuntOutcome) String() string {
	switch {
	case h.Error != "":
		return "hunt: error: " + h.Error
	case !h.Found:
		return fmt.Sprintf("hunt: not found in %d runs (%.0f s)", h.Runs, h.Seconds)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "hunt: %s after %d runs (%.0f s)", h.Check, h.Runs, h.FoundSeconds)
	if h.Before != nil {
		fmt.Fprintf(&b, ", shrunk %d clients/%d faults -> %d/%d in %.0f s", h.Before.Clients, h.Before.Faults,
			h.After.Clients, h.After.Faults, h.ShrinkSeconds)
		if !h.Minimal {
			b.WriteString(" (budget reached)")
		}
	}
	return b.String()
}
