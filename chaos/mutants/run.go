package mutants

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Statuses of a mutant after its sweep.
const (
	Killed   = "killed"
	Survived = "survived"
	// Broken is a mutant the runner could not judge: its snippet no longer
	// matches, it does not compile, or a run could not start. It counts
	// against nobody and is reported for the catalogue to be fixed.
	Broken = "broken"
)

// Options say how hard to look for each mutant.
type Options struct {
	// Root is the repository's root (where go.mod is).
	Root string
	// WorkDir holds each mutant's overlay, binary and run reports.
	WorkDir string
	// Scenarios are every scenario name of the sweep.
	Scenarios []string
	// SimScenarios are those of the sim sweep: the ones the simulator runs
	// (it refuses those judged on processes, such as soak); empty means
	// Scenarios.
	SimScenarios []string
	// LocalDurationMax, when set, caps each local run's workload
	// (--duration-max), so that a long scenario (a soak) fits its timeout.
	LocalDurationMax time.Duration
	// LocalScenarios, when set, limits the local sweep to these scenarios
	// (after each mutant's own); empty means every scenario.
	LocalScenarios []string
	// SimSeeds and LocalSeeds are how many seeds (from 1) each sweep runs.
	SimSeeds   int
	LocalSeeds int
	// SimRunTimeout and LocalRunTimeout bound one run; a run that
	// overstays is a kill (the system hung), reported as such.
	SimRunTimeout   time.Duration
	LocalRunTimeout time.Duration
	// Tests also runs `go test` on the mutated package, to compare what
	// the unit tests catch with what the lab catches.
	Tests       bool
	TestTimeout time.Duration
	// Hunt, when above 0, also runs `chatlab hunt` (generated scenarios,
	// sim) on each mutant of simulator-run code for this long, stopping at
	// its first failure, which it shrinks: can the hunt find what the
	// catalogue's scenarios find, and how small a scenario shows it?
	Hunt time.Duration
	// NoSweep skips the scenario sweeps: the hunt alone judges (killed
	// when it finds a failure).
	NoSweep bool
	// Log receives one progress line per run.
	Log io.Writer
}

// Outcome is what the sweep found for one mutant.
type Outcome struct {
	Name        string `json:"name"`
	File        string `json:"file"`
	Description string `json:"description"`
	// Note is the catalogue's explanation of a known survivor.
	Note   string `json:"note,omitempty"`
	Sweep  string `json:"sweep"`
	Status string `json:"status"`
	// Target, Scenario and Seed name the run that killed it.
	Target   string `json:"target,omitempty"`
	Scenario string `json:"scenario,omitempty"`
	Seed     int    `json:"seed,omitempty"`
	// Checks are the checks that failed in that run ("crash", "hang" when
	// the run itself died or overstayed).
	Checks []string `json:"checks,omitempty"`
	// Detail is the first failing check's detail, or why the mutant is
	// broken.
	Detail string `json:"detail,omitempty"`
	// Runs counts the scenario runs made, SeedsTried the seeds reached.
	Runs       int     `json:"runs"`
	SeedsTried int     `json:"seeds_tried"`
	Seconds    float64 `json:"seconds"`
	// Tests is "caught", "missed" or empty when go test was not run.
	Tests string `json:"tests,omitempty"`
	// Hunt is the hunt's outcome when one ran.
	Hunt *HuntOutcome `json:"hunt,omitempty"`
}

// Run judges one mutant: apply, build, sim sweep, then the local sweep for
// code only the real targets run, and go test when asked.
func Run(ctx context.Context, m Mutant, o Options) (out Outcome) {
	started := time.Now()
	out = Outcome{Name: m.Name, File: m.File, Description: m.Description, Note: m.Note, Sweep: m.Sweep}
	defer func() { out.Seconds = time.Since(started).Seconds() }()
	dir := filepath.Join(o.WorkDir, m.Name)
	overlay, err := m.Apply(o.Root, dir)
	if err != nil {
		out.Status, out.Detail = Broken, err.Error()
		return out
	}
	binary := filepath.Join(dir, "chatlab")
	if err := goCommand(ctx, o.Root, "build", "-overlay", overlay, "-o", binary, "./cmd/chatlab"); err != nil {
		out.Status, out.Detail = Broken, "does not build: "+err.Error()
		return out
	}
	if o.Tests {
		out.Tests = runTests(ctx, m, o, overlay)
	}
	if o.Hunt > 0 && m.Sweep == SweepSim {
		out.Hunt = huntMutant(ctx, binary, filepath.Join(dir, "hunt"), 1, o.Hunt)
		if o.Log != nil {
			fmt.Fprintf(o.Log, "  %s: %s\n", m.Name, out.Hunt)
		}
	}
	out.Status = Survived
	if o.NoSweep {
		switch h := out.Hunt; {
		case h == nil:
			out.Status, out.Detail = Broken, "no sweep and no hunt: nothing judged it"
		case h.Error != "":
			out.Status, out.Detail = Broken, h.Error
		case h.Found:
			out.Status, out.Target, out.Scenario, out.Checks, out.Runs = Killed, "sim", "hunt", []string{h.Check}, h.Runs
		default:
			out.Runs = h.Runs
		}
		return out
	}
	simScenarios := o.Scenarios
	if len(o.SimScenarios) > 0 {
		simScenarios = o.SimScenarios
	}
	sweeps := []sweep{{"sim", o.SimSeeds, simScenarios, o.SimRunTimeout}}
	if m.Sweep == SweepLocal {
		local := within(m.Scenarios, o.LocalScenarios, o.Scenarios)
		sweeps = append(sweeps, sweep{"local", o.LocalSeeds, local, o.LocalRunTimeout})
	}
	for _, sweep := range sweeps {
		order := ordered(m.Scenarios, sweep.scenarios)
		for seed := 1; seed <= sweep.seeds; seed++ {
			out.SeedsTried = max(out.SeedsTried, seed)
			for _, scenario := range order {
				if ctx.Err() != nil {
					out.Status, out.Detail = Broken, "interrupted"
					return out
				}
				out.Runs++
				var extra []string
				if sweep.target == "local" && o.LocalDurationMax > 0 {
					extra = []string{"--duration-max", o.LocalDurationMax.String()}
				}
				verdict := runScenario(ctx, binary, filepath.Join(dir, "reports"), sweep.target, scenario, seed, sweep.timeout, extra...)
				if o.Log != nil {
					fmt.Fprintf(o.Log, "  %s: %s on %s seed %d: %s\n", m.Name, scenario, sweep.target, seed, verdict.summary())
				}
				switch {
				case verdict.broken != "":
					out.Status, out.Detail = Broken, verdict.broken
					return out
				case len(verdict.failed) > 0:
					out.Status, out.Target, out.Scenario, out.Seed = Killed, sweep.target, scenario, seed
					out.Checks, out.Detail = verdict.failed, verdict.detail
					return out
				}
			}
		}
	}
	return out
}

// sweep is one target's share of a mutant's runs.
type sweep struct {
	target    string
	seeds     int
	scenarios []string
	timeout   time.Duration
}

// ordered puts a mutant's own scenarios first, then the rest of all, each
// once; a named scenario that does not exist is skipped.
func ordered(first, all []string) []string {
	order := make([]string, 0, len(all))
	for _, name := range first {
		if slices.Contains(all, name) && !slices.Contains(order, name) {
			order = append(order, name)
		}
	}
	for _, name := range all {
		if !slices.Contains(order, name) {
			order = append(order, name)
		}
	}
	return order
}

// within is a sweep limited to chosen scenarios (every one of all when
// none are chosen) that still tries the mutant's own: they name the
// scenarios that reach its code, whatever else the sweep leaves out.
func within(own, chosen, all []string) []string {
	if len(chosen) == 0 {
		return all
	}
	pool := slices.Clone(chosen)
	for _, name := range own {
		if slices.Contains(all, name) && !slices.Contains(pool, name) {
			pool = append(pool, name)
		}
	}
	return pool
}

// verdict is one run's result: failed checks (a kill), a reason the run
// says nothing (broken), or neither (passed).
type verdict struct {
	failed []string
	detail string
	broken string
}

func (v verdict) summary() string {
	switch {
	case v.broken != "":
		return "broken: " + v.broken
	case len(v.failed) > 0:
		return "FAILED " + strings.Join(v.failed, ", ")
	}
	return "passed"
}

// runScenario runs one scenario with the mutant's binary and reads which
// checks failed from its report.
func runScenario(ctx context.Context, binary, out, target, scenario string, seed int, timeout time.Duration, extra ...string) verdict {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"chaos", "--scenario", scenario, "--target", target,
		"--seed", strconv.Itoa(seed), "--out", out}, extra...)...)
	// A hung run is killed with its children (the local target's nodes).
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return verdict{failed: []string{"hang"}, detail: fmt.Sprintf("the run did not end within %s", timeout)}
	}
	if err == nil {
		return verdict{}
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return verdict{broken: err.Error()}
	}
	for _, marker := range []string{"panic: ", "fatal error: "} {
		if at := strings.Index(stderr.String(), marker); at >= 0 {
			return verdict{failed: []string{"crash"}, detail: firstLine(stderr.String()[at:])}
		}
	}
	if exit.ExitCode() != 1 {
		return verdict{broken: fmt.Sprintf("exit %d: %s", exit.ExitCode(), lastLine(stderr.String()))}
	}
	report := lastLine(stdout.String())
	failed, detail, readErr := failedChecks(filepath.Join(report, "report.json"))
	if readErr != nil || len(failed) == 0 {
		// The run failed before it could write a verdict: a node that does
		// not start, a cluster that does not come up. The lab saw it.
		return verdict{failed: []string{"run-error"}, detail: lastLine(stderr.String())}
	}
	return verdict{failed: failed, detail: detail}
}

// failedChecks reads a report.json's checks whose expectation did not hold.
func failedChecks(path string) ([]string, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	var report struct {
		Checks []struct {
			Name   string `json:"name"`
			OK     bool   `json:"ok"`
			Detail string `json:"detail"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(data, &report); err != nil {
		return nil, "", err
	}
	var failed []string
	detail := ""
	for _, check := range report.Checks {
		if !check.OK {
			failed = append(failed, check.Name)
			if detail == "" {
				detail = check.Detail
			}
		}
	}
	return failed, detail, nil
}

// runTests runs the mutated file's package tests.
func runTests(ctx context.Context, m Mutant, o Options, overlay string) string {
	ctx, cancel := context.WithTimeout(ctx, o.TestTimeout)
	defer cancel()
	pkg := "./" + filepath.ToSlash(filepath.Dir(m.File))
	if err := goCommand(ctx, o.Root, "test", "-overlay", overlay, "-count=1", "-timeout", o.TestTimeout.String(), pkg); err != nil {
		return "caught"
	}
	return "missed"
}

func goCommand(ctx context.Context, root string, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %w: %s", args[0], err, lastLine(output.String()))
	}
	return nil
}

func firstLine(text string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	return line
}

func lastLine(text string) string {
	text = strings.TrimSpace(text)
	return text[strings.LastIndex(text, "\n")+1:]
}
