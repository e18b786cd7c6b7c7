package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"chatlab/chaos"
	"chatlab/chaos/hunt"
)

// shrinkBudgetDefault bounds one shrink: tens of candidate runs of a
// small scenario.
const shrinkBudgetDefault = 3 * time.Minute

func checkShardAndShrink(flags *flagSet, options *chaosOptions, shard string, shrink bool, budget time.Duration) int {
	if shard != "" {
		if !options.sweep {
			return flags.usageError("--shard splits a sweep: it needs --seeds A-B")
		}
		var err error
		if options.shard, err = chaos.ParseShard(shard); err != nil {
			return flags.usageError("%s", err)
		}
	}
	if shrink && (options.target != "sim" || options.sweep) {
		return flags.usageError("--shrink shrinks one failing run on the simulator: use it with --target sim and --seed")
	}
	if budget <= 0 {
		return flags.usageError("--shrink-budget %s: want a positive duration", budget)
	}
	options.shrink, options.shrinkBudget = shrink, budget
	return 0
}

// shrinkRun shrinks a failing simulated run toward its first failed check,
// writes the smallest scenario found (OUT/shrunk/NAME-seedN-min.yaml) and
// its run's report, and prints both with what was removed.
func shrinkRun(ctx context.Context, options chaosOptions, result *chaos.Result, stdout, stderr io.Writer) {
	failed := result.FailedChecks()
	if len(failed) == 0 {
		return
	}
	sc := *options.scenario
	sc.Topology.Delivery = options.delivery
	fmt.Fprintf(stderr, "shrinking toward %s (budget %s) ...\n", failed[0], options.shrinkBudget)
	shrunk, err := hunt.Shrink(ctx, &sc, result, hunt.ShrinkOptions{Run: hunt.SimRunner(options.mutation), Seed: options.seedFirst,
		Check: failed[0], Budget: options.shrinkBudget})
	if shrunk == nil {
		fmt.Fprintf(stderr, "chatlab chaos: shrink: %s\n", err)
		return
	}
	file := filepath.Join(options.out, "shrunk", fmt.Sprintf("%s-seed%d-min.yaml", options.scenario.Name, options.seedFirst))
	record := shrunk.Record()
	replay := func(file string) string {
		return hunt.ReplayCommand(invocation, file, options.seedFirst, options.mutation)
	}
	if err := hunt.WriteShrunk(options.out, shrunk, file, replay, record); err != nil {
		fmt.Fprintf(stderr, "chatlab chaos: write the shrunk scenario: %s\n", err)
		return
	}
	fmt.Fprintf(stderr, "shrunk: %s\n", strings.ReplaceAll(shrunk.Comment(record.Replay), "\n", "\n  "))
	fmt.Fprintln(stdout, record.File)
	fmt.Fprintln(stdout, record.Report)
}
