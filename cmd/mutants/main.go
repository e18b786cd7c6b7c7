// Command mutants measures the lab's mutation score: each mutant of the
// catalogue is planted in a build of chatlab (go build -overlay, the tree
// is untouched) and run through the scenario sweep until a check catches
// it. `make mutants` runs the whole catalogue; CI runs the --ci subset.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"chatlab/chaos/mutants"
	"chatlab/scenarios"
)

func main() {
	os.Exit(run())
}

func run() int {
	flags := flag.NewFlagSet("mutants", flag.ContinueOnError)
	catalogue := flags.String("catalogue", "chaos/mutants/testdata/catalogue.yaml", "the catalogue `file`")
	only := flags.String("only", "", "comma-separated mutant `names` to run (default: all)")
	ci := flags.Bool("ci", false, "run only the mutants marked ci: the subset CI runs")
	simSeeds := flags.Int("sim-seeds", 3, "seeds (from 1) of the sim sweep")
	localSeeds := flags.Int("local-seeds", 1, "seeds (from 1) of the local sweep, for code only real targets run")
	localScenarios := flags.String("local-scenarios", "", "comma-separated scenarios of the local sweep after each mutant's own (default: every scenario)")
	tests := flags.Bool("tests", false, "also run go test on each mutated package: caught by tests versus caught by the lab")
	jsonOut := flags.String("json", "reports/mutants.json", "write the outcomes to this `file` (empty: none)")
	strict := flags.Bool("strict", false, "exit 1 when a mutant survives (for CI's subset, which must all be killed)")
	jobs := flags.Int("j", 1, "mutants judged at once (each builds, then runs its scenarios one at a time)")
	huntFor := flags.Duration("hunt", 0, "also hunt each mutant of simulator-run code with generated scenarios for this `long` (chatlab hunt --max-failures 1), and shrink what it finds")
	sweep := flags.Bool("sweep", true, "run the catalogue's scenario sweeps (--sweep=false --hunt D: the hunt alone judges, on mutants of simulator-run code)")
	keep := flags.Bool("keep", false, "keep the work directory (overlays, binaries, run reports)")
	if err := flags.Parse(os.Args[1:]); err != nil {
		return 2
	}
	if !*sweep && *huntFor <= 0 {
		fmt.Fprintln(os.Stderr, "mutants: --sweep=false needs --hunt DURATION: something must judge the mutants")
		return 2
	}
	if *simSeeds < 1 || *localSeeds < 0 || *jobs < 1 {
		fmt.Fprintln(os.Stderr, "mutants: --sim-seeds and -j must be at least 1, --local-seeds at least 0")
		return 2
	}
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutants:", err)
		return 2
	}
	c, err := mutants.Load(*catalogue)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutants:", err)
		return 2
	}
	chosen, err := choose(c.Mutants, *only, *ci, !*sweep)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutants:", err)
		return 2
	}
	work, err := os.MkdirTemp("", "chatlab-mutants-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutants:", err)
		return 1
	}
	if !*keep {
		defer os.RemoveAll(work)
	} else {
		fmt.Fprintln(os.Stderr, "mutants: work directory", work)
	}
	options := mutants.Options{Root: root, WorkDir: work, Scenarios: scenarios.Names(), SimScenarios: simScenarios(),
		LocalScenarios: split(*localScenarios), LocalDurationMax: localDurationMax,
		SimSeeds: *simSeeds, LocalSeeds: *localSeeds, SimRunTimeout: 2 * time.Minute, LocalRunTimeout: 4 * time.Minute,
		Tests: *tests, TestTimeout: 5 * time.Minute, Hunt: *huntFor, NoSweep: !*sweep, Log: os.Stderr}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	started := time.Now()
	// Outcomes keep the catalogue's order whatever order the jobs end in.
	outcomes := make([]mutants.Outcome, len(chosen))
	var logMu sync.Mutex
	var workers sync.WaitGroup
	next := make(chan int)
	for range *jobs {
		workers.Go(func() {
			for i := range next {
				m := chosen[i]
				logMu.Lock()
				fmt.Fprintf(os.Stderr, "mutant %d/%d %s (%s): %s\n", i+1, len(chosen), m.Name, m.File, m.Description)
				logMu.Unlock()
				outcomes[i] = mutants.Run(ctx, m, options)
				logMu.Lock()
				fmt.Fprintln(os.Stderr, outcomes[i].Line())
				logMu.Unlock()
			}
		})
	}
	for i := range chosen {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	workers.Wait()
	if ctx.Err() != nil {
		// Interrupted: only the mutants judged count.
		judged := outcomes[:0]
		for _, o := range outcomes {
			if o.Name != "" {
				judged = append(judged, o)
			}
		}
		outcomes = judged
	}
	fmt.Println()
	mutants.Print(os.Stdout, outcomes)
	fmt.Printf("%d mutants in %.0f s\n", len(outcomes), time.Since(started).Seconds())
	if *jsonOut != "" {
		if err := writeJSON(*jsonOut, outcomes); err != nil {
			fmt.Fprintln(os.Stderr, "mutants:", err)
			return 1
		}
	}
	score := mutants.ScoreOf(outcomes)
	survived := score.Sim.Judged - score.Sim.Killed + score.Local.Judged - score.Local.Killed
	if score.Broken > 0 || (*strict && survived > 0) {
		return 1
	}
	return 0
}

// localDurationMax caps a local run's workload: a soak (ten minutes as
// written) is run for a minute, well within LocalRunTimeout.
const localDurationMax = time.Minute

// simScenarios are the scenarios the simulator runs, as `chatlab
// scenarios --target sim` lists them: not those judged on the processes
// themselves (a soak's no-leak). Those on a Redis Cluster are in: the
// simulator runs them (redis-failover-unsafe is the one whose promoted
// replica takes a room back within its epoch).
func simScenarios() []string {
	var names []string
	for _, s := range scenarios.All() {
		if s.ProcessProperty() == "" {
			names = append(names, s.Name)
		}
	}
	return names
}

// choose picks the mutants to run; simOnly keeps those of code the
// simulator runs (the hunt's reach).
func choose(all []mutants.Mutant, only string, ci, simOnly bool) ([]mutants.Mutant, error) {
	names := split(only)
	for _, name := range names {
		if !slices.ContainsFunc(all, func(m mutants.Mutant) bool { return m.Name == name }) {
			return nil, fmt.Errorf("--only: no mutant %q in the catalogue", name)
		}
	}
	var chosen []mutants.Mutant
	for _, m := range all {
		if (len(names) == 0 || slices.Contains(names, m.Name)) && (!ci || m.CI) && (!simOnly || m.Sweep == mutants.SweepSim) {
			chosen = append(chosen, m)
		}
	}
	if len(chosen) == 0 {
		return nil, fmt.Errorf("no mutant chosen")
	}
	return chosen, nil
}

func split(list string) []string {
	var out []string
	for _, item := range strings.Split(list, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run from inside the chatlab module")
	}
	return filepath.Dir(gomod), nil
}

func writeJSON(path string, outcomes []mutants.Outcome) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(map[string]any{"outcomes": outcomes, "score": mutants.ScoreOf(outcomes)}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
