package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	"chatlab/chaos"
	"chatlab/chaos/hunt"
	"chatlab/system/node"
)

// huntRunsMax bounds --runs as seedsPerSweepMax bounds a sweep.
const huntRunsMax = seedsPerSweepMax

func runHunt(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := newFlagSet("hunt", "Generate scenarios from a seed (topology, workload, a random fault schedule drawn from\n"+
		"a random subset of the fault kinds), run each on the simulator with every check, shrink\n"+
		"each failure to the smallest scenario that still fails, and end with the failures grouped\n"+
		"by check. Failures are written to OUT/failures/ as scenario files (NAME.yaml, and the\n"+
		"shrunk NAME-min.yaml) with their seed and replay command; OUT/hunt.json records every run.\n"+
		"Exit 0 when nothing failed, 1 when something did, 2 for bad usage.\n\n"+
		"  "+invocation+" hunt --runs 200\n"+
		"  "+invocation+" hunt --for 10m --mutation drop\n"+
		"  "+invocation+" hunt --runs 2000 --shard 3/8 --out hunt-3\n"+
		"  "+invocation+" hunt --merge hunt-1 hunt-2 ...   (join sharded hunts' results into one table)", stdout, stderr)
	seed := flags.String("seed", "1", "the hunt's seed: the same seed generates the same scenarios")
	runs := flags.Int("runs", 0, "how many scenarios to generate and run (of the whole hunt, before sharding)")
	budget := flags.Duration("for", 0, "start runs for this long (with --runs: whichever ends first); the shrinks of the last failures may take up to --shrink-budget more")
	mutation := flags.String("mutation", "", "break every node on purpose (drop, duplicate, swap, ignore-since), to see the hunt find it")
	shard := flags.String("shard", "", "run part `I/N` of the hunt only (runs at positions p with p mod N = I-1), for N machines")
	shardBase := flags.Int("shard-base", 1, "what --shard's I counts from: 1, or 0 as a Kubernetes Indexed Job's JOB_COMPLETION_INDEX does")
	out := flags.String("out", "reports/hunt", "where failures, shrunk scenarios, their reports and hunt.json go")
	shrink := flags.Bool("shrink", true, "shrink each failure to the smallest scenario that still fails the same check")
	shrinkBudget := flags.Duration("shrink-budget", time.Minute, "the longest one failure's shrink may take")
	maxFailures := flags.Int("max-failures", 0, "stop starting runs once this many have failed (0: no limit); --max-failures 1 asks only whether a bug can be found")
	workers := flags.Int("workers", runtime.GOMAXPROCS(0), "runs at once")
	flags.Bool("merge", false, "the directories that follow are hunts' outputs (one per shard): join their results into one table")
	// --merge DIR...: the directories are what follows it.
	var mergeDirs []string
	merging := false
	for i, arg := range args {
		if arg == "--merge" || arg == "-merge" {
			merging, mergeDirs, args = true, args[i+1:], args[:i]
			break
		}
	}
	if code, done := flags.parse(args); done {
		return code
	}
	if merging {
		if len(mergeDirs) == 0 {
			return flags.usageError("--merge needs the hunts' output directories after it")
		}
		summary, err := hunt.Merge(mergeDirs)
		if err != nil {
			fmt.Fprintf(stderr, "chatlab hunt: %s\n", err)
			return 1
		}
		hunt.PrintTable(stdout, summary)
		return verdictCode(summary)
	}
	options := hunt.Options{Out: *out, Shrink: *shrink, ShrinkBudget: *shrinkBudget, Workers: *workers, For: *budget, Runs: *runs,
		MaxFailures: *maxFailures}
	var err error
	if options.Seed, err = strconv.ParseUint(*seed, 10, 64); err != nil {
		return flags.usageError("--seed %q: want a whole number", *seed)
	}
	switch {
	case *runs < 0 || *runs > huntRunsMax:
		return flags.usageError("--runs %d: want 1 to %d", *runs, huntRunsMax)
	case *runs == 0 && *budget <= 0:
		return flags.usageError("say how much to hunt: --runs N or --for DURATION (e.g. --for 10m)")
	case *budget < 0:
		return flags.usageError("--for %s: want a positive duration", *budget)
	case *workers < 1:
		return flags.usageError("--workers %d: want at least 1", *workers)
	case *maxFailures < 0:
		return flags.usageError("--max-failures %d: want 0 (no limit) or more", *maxFailures)
	case *shrinkBudget <= 0:
		return flags.usageError("--shrink-budget %s: want a positive duration", *shrinkBudget)
	}
	if options.Mutation, err = node.ParseMutation(*mutation); err != nil {
		return flags.usageError("--mutation: %s", err)
	}
	if *shard != "" {
		if options.Shard, err = chaos.ParseShardFrom(*shard, *shardBase); err != nil {
			return flags.usageError("%s", err)
		}
	}
	options.Replay = func(file string, seed uint64) string {
		return hunt.ReplayCommand(invocation, file, seed, options.Mutation)
	}
	total := 0
	if *runs > 0 {
		for p := options.Shard.First(); p < uint64(*runs); p += options.Shard.Step() {
			total++
		}
	}
	progress := newProgress(stderr, total, "runs")
	progress.budget = *budget
	options.Progress = func(done, failed int, r hunt.RunRecord) {
		verdict := r.Verdict
		if len(r.Failed) > 0 {
			verdict += " (" + r.Failed[0] + ")"
		}
		progress.update(done, failed, fmt.Sprintf("run %d", r.Index), verdict)
	}
	debug.SetGCPercent(simGCPercent)
	summary, err := hunt.Hunt(ctx, options)
	progress.finish()
	if summary == nil {
		fmt.Fprintf(stderr, "chatlab hunt: %s\n", err)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "chatlab hunt: stopped: %s\n", err)
	}
	hunt.PrintTable(stdout, summary)
	if wall := time.Duration(summary.WallMs) * time.Millisecond; wall > 0 && len(summary.Runs) > 0 {
		fmt.Fprintf(stdout, "%.1f runs/min on %d workers; results: %s\n", float64(len(summary.Runs))/wall.Minutes(), options.Workers, *out)
	}
	if err != nil {
		return 1
	}
	return verdictCode(summary)
}

func verdictCode(summary *hunt.Summary) int {
	if len(summary.Failures()) > 0 {
		return 1
	}
	return 0
}
