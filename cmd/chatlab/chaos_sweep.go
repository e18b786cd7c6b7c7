package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
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
	total := int(options.seedLast - options.seedFirst + 1)
	seeds := make(chan uint64)
	results := make(chan sweepResult)
	var workers sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), total) {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for seed := range seeds {
				results <- runSeed(ctx, options, seed)
			}
		}()
	}
	go func() {
		defer close(seeds)
		for seed := options.seedFirst; seed <= options.seedLast; seed++ {
			select {
			case seeds <- seed:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { workers.Wait(); close(results) }()
	progress := newProgress(stderr, total)
	var failed []sweepResult
	done := 0
	for r := range results {
		done++
		if r.verdict != "pass" {
			failed = append(failed, r)
		}
		progress.update(done, len(failed), r)
	}
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
	fmt.Fprintf(stdout, "%s on sim: %d of %d seeds passed (%d-%d)\n", options.scenario.Name, total-len(failed), total,
		options.seedFirst, options.seedLast)
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

// progress shows a sweep's progress: a bar redrawn in place on a terminal,
// a plain line every progressLineEvery seeds otherwise.
type progress struct {
	w        io.Writer
	terminal bool
	total    int
	start    time.Time
}

const (
	progressLineEvery = 10
	progressBarWidth  = 30
)

func newProgress(w io.Writer, total int) *progress {
	return &progress{w: w, terminal: isTerminal(w), total: total, start: time.Now()}
}

func (p *progress) update(done, failed int, r sweepResult) {
	if !p.terminal {
		if r.verdict != "pass" {
			fmt.Fprintf(p.w, "seed %d: %s\n", r.seed, r.verdict)
		}
		if done%progressLineEvery == 0 || done == p.total {
			fmt.Fprintf(p.w, "%d/%d seeds, %d failed, %s\n", done, p.total, failed, time.Since(p.start).Round(time.Second))
		}
		return
	}
	filled := progressBarWidth * done / p.total
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d seeds, %d failed, %s ", strings.Repeat("#", filled),
		strings.Repeat(".", progressBarWidth-filled), done, p.total, failed, time.Since(p.start).Round(time.Second))
}

func (p *progress) finish() {
	if p.terminal {
		fmt.Fprintln(p.w)
	}
}
