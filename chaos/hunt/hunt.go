package hunt

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"chatlab/chaos"
	"chatlab/reports"
	"chatlab/scenarios"
	"chatlab/system/node"
)

// SummaryFile is the hunt's record in its output directory: every run's
// outcome, which --merge reads back.
const SummaryFile = "hunt.json"

// Options say what to hunt.
type Options struct {
	// Seed generates the scenarios: run i's scenario is Generate(Seed, i).
	Seed uint64
	// Runs is how many runs (of the unsharded hunt); 0 with For: until
	// the time is up.
	Runs int
	// For bounds the hunt's wall time (0: Runs alone).
	For time.Duration
	// Shard picks this machine's part of the runs.
	Shard   chaos.Shard
	Workers int
	// Mutation breaks the nodes on purpose, to see the hunt find it.
	Mutation node.Mutation
	// Run runs one scenario (SimRunner(Mutation) when nil).
	Run Runner
	// MaxFailures, when above 0, stops handing out runs once that many have
	// failed (runs already started still end, and are shrunk): a hunt that
	// only needs to know whether a bug can be found stops at the first.
	MaxFailures int
	// Shrink shrinks each failure, within ShrinkBudget each.
	Shrink       bool
	ShrinkBudget time.Duration
	// Out is where failures, their shrunk scenarios and reports, and
	// hunt.json go; "" writes nothing.
	Out string
	// Replay is the command that runs a scenario file again, with
	// "{file}" and "{seed}" in it (hunt.ReplayCommand).
	Replay func(file string, seed uint64) string
	// Progress hears each run as it ends (on the caller's goroutine).
	Progress func(done, failed int, run RunRecord)
}

// RunRecord is one run's outcome (hunt.json runs[]).
type RunRecord struct {
	// Index is the run's position in the unsharded hunt.
	Index        int    `json:"index"`
	Seed         uint64 `json:"seed"`
	ScenarioHash string `json:"scenario_hash"`
	Verdict      string `json:"verdict"`
	// TraceHash is the simulator's trace hash: the same hunt seed gives
	// the same runs, event for event.
	TraceHash string `json:"trace_hash,omitempty"`
	// Failed names the checks that failed (their expectation not met).
	Failed []string `json:"failed,omitempty"`
	Error  string   `json:"error,omitempty"`
	// File is the failing scenario as written, Report its run's report.
	File   string `json:"file,omitempty"`
	Report string `json:"report,omitempty"`
	Replay string `json:"replay,omitempty"`
	// Shrunk is the shrink's outcome for a failing run.
	Shrunk *ShrinkRecord `json:"shrunk,omitempty"`
	// WallMs is how long the run and its shrink took.
	WallMs int64 `json:"wall_ms"`
}

// ShrinkRecord is a shrink's outcome as hunt.json and report.json keep it.
type ShrinkRecord struct {
	Check      string   `json:"check"`
	File       string   `json:"file,omitempty"`
	Report     string   `json:"report,omitempty"`
	Replay     string   `json:"replay,omitempty"`
	Before     Size     `json:"before"`
	After      Size     `json:"after"`
	Removed    []string `json:"removed"`
	Candidates int      `json:"candidates"`
	Minimal    bool     `json:"minimal"`
	WallMs     int64    `json:"wall_ms"`
}

// Summary is a hunt's outcome (hunt.json).
type Summary struct {
	Seed     uint64      `json:"seed"`
	Shard    string      `json:"shard,omitempty"`
	Mutation string      `json:"mutation,omitempty"`
	WallMs   int64       `json:"wall_ms"`
	Runs     []RunRecord `json:"runs"`
}

// Failures are the summary's failing runs.
func (s *Summary) Failures() []RunRecord {
	var out []RunRecord
	for _, r := range s.Runs {
		if r.Verdict != "pass" {
			out = append(out, r)
		}
	}
	return out
}

// RunSeed is the simulator seed of hunt run index: a mix of the hunt's
// seed and the index, so that neighbouring runs share nothing.
func RunSeed(seed uint64, index int) uint64 {
	z := seed*0x9e3779b97f4a7c15 + uint64(index) + 1
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return (z ^ (z >> 31)) % (1 << 53) // fits a JSON number exactly
}

// Hunt generates and runs scenarios, shrinks each failure if asked, writes
// failures under opts.Out and returns every run's record, sorted by index.
func Hunt(ctx context.Context, opts Options) (*Summary, error) {
	start := time.Now()
	run := opts.Run
	if run == nil {
		run = SimRunner(opts.Mutation)
	}
	if opts.Runs <= 0 && opts.For <= 0 {
		return nil, fmt.Errorf("hunt: give a number of runs or a time budget")
	}
	deadline := time.Time{}
	if opts.For > 0 {
		deadline = start.Add(opts.For)
	}
	position := opts.Shard.First()
	// found counts failing runs as they fail (before their shrink), for
	// MaxFailures; next runs on the pool's own goroutine.
	var found atomic.Int64
	next := func() (int, bool) {
		if (opts.Runs > 0 && position >= uint64(opts.Runs)) || (!deadline.IsZero() && time.Now().After(deadline)) || ctx.Err() != nil ||
			(opts.MaxFailures > 0 && found.Load() >= int64(opts.MaxFailures)) {
			return 0, false
		}
		index := int(position)
		position += opts.Shard.Step()
		return index, true
	}
	summary := &Summary{Seed: opts.Seed, Shard: opts.Shard.String(), Mutation: string(opts.Mutation)}
	failed := 0
	chaos.Parallel(ctx, opts.Workers, next, func(index int) RunRecord {
		return huntOne(ctx, opts, run, index, &found)
	}, func(r RunRecord) {
		if r.Verdict != "pass" {
			failed++
		}
		summary.Runs = append(summary.Runs, r)
		if opts.Progress != nil {
			opts.Progress(len(summary.Runs), failed, r)
		}
	})
	sort.Slice(summary.Runs, func(i, j int) bool { return summary.Runs[i].Index < summary.Runs[j].Index })
	summary.WallMs = time.Since(start).Milliseconds()
	if opts.Out != "" {
		if err := writeSummary(opts.Out, summary); err != nil {
			return summary, err
		}
	}
	return summary, ctx.Err()
}

// huntOne runs, writes and shrinks run index; its record's wall time
// covers all of it (the result is named so that the deferred stamp lands
// in what is returned).
func huntOne(ctx context.Context, opts Options, run Runner, index int, found *atomic.Int64) (record RunRecord) {
	start := time.Now()
	sc := Generate(opts.Seed, index)
	seed := RunSeed(opts.Seed, index)
	record = RunRecord{Index: index, Seed: seed, ScenarioHash: sc.Hash()}
	defer func() { record.WallMs = time.Since(start).Milliseconds() }()
	result, err := run(ctx, sc, seed)
	if err != nil {
		record.Verdict, record.Error = "error", err.Error()
		return record
	}
	record.Verdict, record.TraceHash = result.Verdict, result.TraceHash
	if result.Passed() {
		return record
	}
	found.Add(1)
	record.Failed = result.FailedChecks()
	if opts.Out != "" {
		file := filepath.Join(opts.Out, "failures", sc.Name+".yaml")
		record.File, record.Replay = file, replay(opts, file, seed)
		comment := fmt.Sprintf("Found by chatlab hunt --seed %d (run %d, simulator seed %d)", opts.Seed, index, seed)
		if opts.Mutation != "" {
			comment += fmt.Sprintf(" with --mutation %s", opts.Mutation)
		}
		comment += fmt.Sprintf(".\nFailed: %s\nReplay: %s", strings.Join(record.Failed, ", "), record.Replay)
		if err := writeScenario(file, sc, comment); err != nil {
			record.Error = err.Error()
			return record
		}
		sc.File = file
		if record.Report, err = chaos.WriteReport(opts.Out, result, record.Replay); err != nil {
			record.Error = err.Error()
		}
	}
	if opts.Shrink && len(record.Failed) > 0 {
		shrunk, err := Shrink(ctx, sc, result, ShrinkOptions{Run: run, Seed: seed, Check: record.Failed[0], Budget: opts.ShrinkBudget})
		if err != nil && shrunk == nil {
			record.Error = err.Error()
			return record
		}
		record.Shrunk = shrunk.Record()
		if opts.Out != "" {
			if err := WriteShrunk(opts.Out, shrunk, filepath.Join(opts.Out, "failures", sc.Name+"-min.yaml"), func(file string) string {
				return replay(opts, file, seed)
			}, record.Shrunk); err != nil {
				record.Error = err.Error()
			}
		}
	}
	return record
}

// Record is the shrink's outcome as hunt.json keeps it (file, report and
// replay are filled in once written).
func (s *Shrunk) Record() *ShrinkRecord {
	return &ShrinkRecord{Check: s.Check, Before: s.Before, After: s.After, Removed: append([]string{}, s.Removed...),
		Candidates: s.Candidates, Minimal: s.Minimal, WallMs: s.Wall.Milliseconds()}
}

// WriteShrunk writes the shrunk scenario to file (with a head comment
// saying what was removed and how to replay it) and its failing run's
// report, with the shrink in report.json shrunk_from; it fills in record's
// file, report and replay.
func WriteShrunk(out string, s *Shrunk, file string, replay func(file string) string, record *ShrinkRecord) error {
	record.File, record.Replay = file, replay(file)
	if err := writeScenario(file, s.Scenario, s.Comment(record.Replay)); err != nil {
		return err
	}
	s.Scenario.File = file
	dir, err := chaos.WriteShrunkReport(out, s.Result, record.Replay, s.ReportField())
	record.Report = dir
	return err
}

// ReportField is the shrink as report.json's shrunk_from.
func (s *Shrunk) ReportField() *reports.ShrunkFrom {
	return &reports.ShrunkFrom{Check: s.Check, Before: reports.ScenarioSize(s.Before), After: reports.ScenarioSize(s.After),
		Removed: append([]string{}, s.Removed...), Candidates: s.Candidates, Minimal: s.Minimal, WallMs: s.Wall.Milliseconds()}
}

func replay(opts Options, file string, seed uint64) string {
	if opts.Replay != nil {
		return opts.Replay(file, seed)
	}
	return ReplayCommand("chatlab", file, seed, opts.Mutation)
}

// ReplayCommand is the chaos command that runs a written scenario again.
func ReplayCommand(invocation, file string, seed uint64, mutation node.Mutation) string {
	command := fmt.Sprintf("%s chaos --file %s --seed %d", invocation, file, seed)
	if mutation != "" {
		command += " --mutation " + string(mutation)
	}
	return command
}

func writeScenario(file string, sc *scenarios.Scenario, comment string) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	return os.WriteFile(file, sc.Encode(comment), 0o644)
}

func writeSummary(out string, s *Summary) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, SummaryFile), append(data, '\n'), 0o644)
}

// Merge reads the hunt.json of each directory (one per shard) and joins
// them into one summary: the runs of every shard, sorted by index. The
// shards must come from one hunt (same seed and mutation) and not overlap.
func Merge(dirs []string) (*Summary, error) {
	var merged *Summary
	seen := map[int]string{}
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, SummaryFile))
		if err != nil {
			return nil, err
		}
		var s Summary
		if err := json.Unmarshal(data, &s); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, SummaryFile), err)
		}
		if merged == nil {
			merged = &Summary{Seed: s.Seed, Mutation: s.Mutation}
		}
		if s.Seed != merged.Seed || s.Mutation != merged.Mutation {
			return nil, fmt.Errorf("%s: a hunt with seed %d and mutation %q; the first was seed %d, mutation %q",
				dir, s.Seed, s.Mutation, merged.Seed, merged.Mutation)
		}
		for _, r := range s.Runs {
			if other, ok := seen[r.Index]; ok {
				return nil, fmt.Errorf("run %d is in both %s and %s: shards overlap", r.Index, other, dir)
			}
			seen[r.Index] = dir
			merged.Runs = append(merged.Runs, r)
		}
		merged.WallMs = max(merged.WallMs, s.WallMs)
	}
	if merged == nil {
		return nil, fmt.Errorf("merge: no directories")
	}
	sort.Slice(merged.Runs, func(i, j int) bool { return merged.Runs[i].Index < merged.Runs[j].Index })
	return merged, nil
}

// PrintTable writes the failures grouped by the check that fired first,
// most frequent first, with each group's smallest scenario and its replay.
func PrintTable(w io.Writer, s *Summary) {
	failures := s.Failures()
	fmt.Fprintf(w, "hunt seed %d: %d runs, %d failed", s.Seed, len(s.Runs), len(failures))
	if s.Mutation != "" {
		fmt.Fprintf(w, " (--mutation %s)", s.Mutation)
	}
	fmt.Fprintf(w, " in %s\n", (time.Duration(s.WallMs) * time.Millisecond).Round(time.Second))
	if len(failures) == 0 {
		return
	}
	groups := map[string][]RunRecord{}
	for _, r := range failures {
		key := r.Verdict
		if len(r.Failed) > 0 {
			key = r.Failed[0]
		}
		groups[key] = append(groups[key], r)
	}
	keys := make([]string, 0, len(groups))
	for key := range groups {
		keys = append(keys, key)
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(groups[keys[i]]) != len(groups[keys[j]]) {
			return len(groups[keys[i]]) > len(groups[keys[j]])
		}
		return keys[i] < keys[j]
	})
	fmt.Fprintf(w, "%-16s %5s  %-24s %s\n", "check", "runs", "smallest (clients/faults)", "replay")
	for _, key := range keys {
		runs := groups[key]
		best := runs[0]
		for _, r := range runs[1:] {
			if smallerRecord(r, best) {
				best = r
			}
		}
		size, command := "-", best.Replay
		if best.Shrunk != nil {
			size = fmt.Sprintf("%d/%d (from %d/%d)", best.Shrunk.After.Clients, best.Shrunk.After.Faults,
				best.Shrunk.Before.Clients, best.Shrunk.Before.Faults)
			command = best.Shrunk.Replay
		}
		if best.Error != "" && command == "" {
			command = "error: " + best.Error
		}
		fmt.Fprintf(w, "%-16s %5d  %-24s %s\n", key, len(runs), size, command)
	}
}

// smallerRecord orders failures by their shrunk size: clients, then faults.
func smallerRecord(a, b RunRecord) bool {
	if a.Shrunk == nil || b.Shrunk == nil {
		return a.Shrunk != nil
	}
	if a.Shrunk.After.Clients != b.Shrunk.After.Clients {
		return a.Shrunk.After.Clients < b.Shrunk.After.Clients
	}
	return a.Shrunk.After.Faults < b.Shrunk.After.Faults
}
