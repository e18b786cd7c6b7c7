package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"chatlab/chaos"
)

// sweepResult is one seed's outcome in a sweep.
type sweepResult struct {
	seed    uint64
	verdict string
	dir     string // the report, written for failing seeds
	err     error
	failure string
}

// runSweep runs every seed of the range on the simulator, as many at once
// as there are cores, writes a report for each failing seed, and ends with
// the failing seeds and the command that replays each.
func runSweep(ctx context.Context, options chaosOptions, stdout, stderr io.Writer) int {
	if options.target != "sim" {
		fmt.Fprintf(stderr, "chatlab chaos: --seeds sweeps run on --target sim only\n")
		return 2
	}
	// The shard's seeds: those whose position in the range it has.
	seed, total := options.seedFirst+options.shard.First(), 0
	for s := seed; s <= options.seedLast; s += options.shard.Step() {
		total++
	}
	next := func() (uint64, bool) {
		if seed > options.seedLast || seed < options.seedFirst { // past the end, or wrapped around
			return 0, false
		}
		s := seed
		seed += options.shard.Step()
		return s, true
	}
	progress := newProgress(stderr, total, "seeds")
	var failed []sweepResult
	done := 0
	chaos.Parallel(ctx, min(runtime.GOMAXPROCS(0), total), next, func(seed uint64) sweepResult {
		return runSeed(ctx, options, seed)
	}, func(r sweepResult) {
		done++
		if r.verdict != "pass" {
			failed = append(failed, r)
		}
		progress.update(done, len(failed), fmt.Sprintf("seed %d", r.seed), r.verdict)
	})
	progress.finish()
	if ctx.Err() != nil {
		fmt.Fprintf(stderr, "chatlab chaos: interrupted after %d of %d seeds\n", done, total)
		return 1
	}
	return summarizeSweep(options, total, failed, stdout)
}

func runSeed(ctx context.Context, options chaosOptions, seed uint64) sweepResult {
	cluster, err := newCluster(options, seed)
	if err != nil {
		return sweepResult{seed: seed, verdict: "error", err: err}
	}
	result, err := chaos.Run(ctx, chaos.RunOptions{Scenario: options.scenario, Cluster: cluster, Seed: seed, Delivery: options.delivery})
	if err != nil {
		return sweepResult{seed: seed, verdict: "error", err: err}
	}
	r := sweepResult{seed: seed, verdict: result.Verdict}
	if !result.Passed() {
		r.failure = strings.Join(result.Failures, "; ")
		r.dir, r.err = chaos.WriteReport(options.out, result, replayCommand(options, seed))
	}
	return r
}

// summarizeSweep prints the failing seeds with their replay commands and
// reports, sorted by seed.
func summarizeSweep(options chaosOptions, total int, failed []sweepResult, stdout io.Writer) int {
	sortBySeed(failed)
	shard := ""
	if options.shard.Count > 1 {
		shard = ", shard " + options.shard.String()
	}
	fmt.Fprintf(stdout, "%s on sim: %d of %d seeds passed (%d-%d%s)\n", options.scenario.Name, total-len(failed), total,
		options.seedFirst, options.seedLast, shard)
	for _, r := range failed {
		switch {
		case r.err != nil && r.dir == "":
			fmt.Fprintf(stdout, "  seed %d: %s: %s\n", r.seed, r.verdict, r.err)
		default:
			fmt.Fprintf(stdout, "  seed %d FAILED: %s\n    replay: %s\n    report: %s\n", r.seed, r.failure, replayCommand(options, r.seed), r.dir)
		}
	}
	if len(failed) > 0 {
		return 1
	}
	return 0
}

func sortBySeed(results []sweepResult) {
	for i := 1; i < len(results); i++ {
		for j := i; j > 0 && results[j].seed < results[j-1].seed; j-- {
			results[j], results[j-1] = results[j-1], results[j]
		}
	}
}

// progress shows a sweep's or a hunt's progress: a bar redrawn in place on
// a terminal, a plain line every progressLineEvery runs otherwise. A hunt
// bounded by time alone has no total: it shows the time left instead.
type progress struct {
	w        io.Writer
	terminal bool
	total    int
	unit     string // "seeds", "runs"
	start    time.Time
	budget   time.Duration // with total 0: the time the hunt has
}

const (
	progressLineEvery = 10
	progressBarWidth  = 30
)

func newProgress(w io.Writer, total int, unit string) *progress {
	return &progress{w: w, terminal: isTerminal(w), total: total, unit: unit, start: time.Now()}
}

// update shows done runs of which failed failed; the last one was label
// with verdict.
func (p *progress) update(done, failed int, label, verdict string) {
	elapsed := time.Since(p.start).Round(time.Second)
	of, fraction := fmt.Sprintf("/%d", p.total), 0.0
	if p.total > 0 {
		fraction = float64(done) / float64(p.total)
	} else {
		of = ""
		if p.budget > 0 {
			fraction = min(1, float64(time.Since(p.start))/float64(p.budget))
		}
	}
	if !p.terminal {
		if verdict != "pass" {
			fmt.Fprintf(p.w, "%s: %s\n", label, verdict)
		}
		if done%progressLineEvery == 0 || done == p.total {
			fmt.Fprintf(p.w, "%d%s %s, %d failed, %s\n", done, of, p.unit, failed, elapsed)
		}
		return
	}
	filled := int(progressBarWidth * fraction)
	fmt.Fprintf(p.w, "\r[%s%s] %d%s %s, %d failed, %s ", strings.Repeat("#", filled),
		strings.Repeat(".", progressBarWidth-filled), done, of, p.unit, failed, elapsed)
}

func (p *progress) finish() {
	if p.terminal {
		fmt.Fprintln(p.w)
	}
}
