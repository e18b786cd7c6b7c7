package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"chatlab/chaos"
	"chatlab/chaos/local"
	"chatlab/reports"
	"chatlab/scenarios"
	"chatlab/system/node"
)

const (
	// seedsPerSweepMax bounds one sweep: a typo like --seeds 1-1000000
	// should not tie up a machine for a day.
	seedsPerSweepMax = 100000
	// simGCPercent is the garbage collector's target for simulated runs.
	simGCPercent = 400
)

// chaosOptions are the chaos command's flags, checked.
type chaosOptions struct {
	scenario  *scenarios.Scenario
	target    string
	seedFirst uint64
	seedLast  uint64
	sweep     bool
	delivery  node.Delivery
	mutation  node.Mutation
	redis     string
	out       string
	dashboard string
	pace      float64
	hold      bool
	// shard is the sweep's part (--shard I/N; zero: the whole range).
	shard chaos.Shard
	// shrink: a failing simulated run is shrunk, within shrinkBudget.
	shrink       bool
	shrinkBudget time.Duration
	// duration is the workload's length given by --duration or
	// --duration-max (0: the scenario's own).
	duration time.Duration
}

func runChaos(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := newFlagSet("chaos", "Run a scenario against a target, check every client operation, write a report\n"+
		"to OUT/runs/<run-id>/ and print its path. Exit 0 when every expectation held, 1 when one\n"+
		"failed, 2 for bad usage or a bad scenario file.", stdout, stderr)
	name := flags.String("scenario", "", "the scenario to run (see '"+invocation+" scenarios')")
	file := flags.String("file", "", "run the scenario in this YAML `file` instead of a built-in one")
	target := flags.String("target", "sim", "where to run it: sim, local or docker")
	seed := flags.String("seed", "1", "the simulator's seed: the same seed replays the same run")
	seeds := flags.String("seeds", "", "sweep a `range` of seeds, e.g. 1-200; reports are written for failing seeds")
	delivery := flags.String("delivery", "", "override the scenario's delivery mode: recover or pubsub")
	mutation := flags.String("mutation", "", "break every node on purpose (drop, duplicate, swap, ignore-since), to see the checkers fire")
	redis := flags.String("redis", "", "the local target's Redis: server (redis-server, the default when installed), embedded (miniredis, the fallback), cluster (a Redis Cluster of 3 masters and 3 replicas, nodes on --redis-cluster) or a redis:// `URL` (its database is flushed); on sim, cluster runs the simulator's Redis Cluster")
	out := flags.String("out", "reports", "the reports `directory`")
	dashboard := flags.String("dashboard", "", "serve the live dashboard on this `address` during the run")
	pace := flags.Float64("pace", 0, "run the simulator at this multiple of real time (1: real time); 0 is full speed")
	hold := flags.Bool("hold", false, "with --dashboard: keep serving it after the run until interrupted")
	shard := flags.String("shard", "", "with --seeds: run part `I/N` of the range only (seeds at positions p with p mod N = I-1), for N machines")
	shrink := flags.Bool("shrink", false, "when the run fails (sim only), shrink it to the smallest scenario that still fails the same check and write it as a scenario file")
	shrinkBudget := flags.Duration("shrink-budget", shrinkBudgetDefault, "with --shrink: the longest the shrink may take")
	duration := flags.Duration("duration", 0, "run the workload this `long` instead of the scenario's duration (a soak's length); shorter keeps the faults that begin within it, each of which must end within it")
	durationMax := flags.Duration("duration-max", 0, "run a scenario whose workload is longer for this `long` only (as --duration); shorter ones as they are")
	if code, done := flags.parse(args); done {
		return code
	}
	options, code := checkChaosFlags(flags, chaosFlags{name: *name, file: *file, target: *target, seed: *seed, seeds: *seeds,
		delivery: *delivery, mutation: *mutation, redis: *redis, out: *out, dashboard: *dashboard, pace: *pace, hold: *hold,
		duration: *duration, durationMax: *durationMax})
	if code != 0 {
		return code
	}
	if code := checkShardAndShrink(flags, &options, *shard, *shrink, *shrinkBudget); code != 0 {
		return code
	}
	if options.target == "sim" {
		// A simulated run allocates quickly and keeps little: collecting
		// garbage less often roughly doubles its speed for a few tens of
		// megabytes more.
		debug.SetGCPercent(simGCPercent)
	}
	if options.sweep {
		return runSweep(ctx, options, stdout, stderr)
	}
	return runOne(ctx, options, stdout, stderr)
}

type chaosFlags struct {
	name, file, target, seed, seeds, delivery, mutation, redis, out, dashboard string
	pace                                                                       float64
	hold                                                                       bool
	duration, durationMax                                                      time.Duration
}

func checkChaosFlags(flags *flagSet, f chaosFlags) (chaosOptions, int) {
	options := chaosOptions{target: f.target, out: f.out, dashboard: f.dashboard, pace: f.pace, hold: f.hold}
	var err error
	switch {
	case f.name == "" && f.file == "":
		return options, flags.usageError("--scenario is required (see '" + invocation + " scenarios' for the names)")
	case f.name != "" && f.file != "":
		return options, flags.usageError("--scenario and --file exclude each other")
	case f.name != "":
		options.scenario, err = scenarios.Load(f.name)
	default:
		options.scenario, err = scenarios.LoadFile(f.file)
	}
	if err != nil {
		var parseError *scenarios.ParseError
		if errors.As(err, &parseError) {
			fmt.Fprintf(flags.stderr, "chatlab chaos: %s\n", err)
			return options, 2
		}
		return options, flags.usageError("%s", err)
	}
	if options.scenario, options.duration, err = withDuration(options.scenario, f.duration, f.durationMax); err != nil {
		return options, flags.usageError("%s", err)
	}
	switch f.target {
	case "sim":
		if property := options.scenario.ProcessProperty(); property != "" {
			fmt.Fprintf(flags.stderr, "chatlab chaos: scenario %s expects %s, which judges the goroutines, heap and open file descriptors "+
				"of the node and balancer processes after the clients leave; the simulator runs every node as a state machine inside "+
				"one process, with no goroutines, heap or descriptors of its own to measure: run it with --target local or --target docker\n",
				options.scenario.Name, property)
			return options, 2
		}
	case "local", "docker":
		if chaosTargets[f.target] == nil {
			return options, flags.usageError("--target %s is not built into this chatlab yet; use --target sim", f.target)
		}
	default:
		return options, flags.usageError("--target %q: want sim, local or docker", f.target)
	}
	if f.seeds != "" {
		options.seedFirst, options.seedLast, err = parseSeedRange(f.seeds)
		options.sweep = true
	} else {
		options.seedFirst, err = strconv.ParseUint(f.seed, 10, 64)
		options.seedLast = options.seedFirst
		if err != nil {
			err = fmt.Errorf("--seed %q: want a whole number from 0 to %d", f.seed, uint64(1<<64-1))
		}
	}
	if err != nil {
		return options, flags.usageError("%s", err)
	}
	options.delivery = options.scenario.Topology.Delivery
	if f.delivery != "" {
		d, ok := node.ParseDelivery(f.delivery)
		if !ok {
			return options, flags.usageError("--delivery %q: want recover or pubsub", f.delivery)
		}
		options.delivery = d
	}
	if options.mutation, err = node.ParseMutation(f.mutation); err != nil {
		return options, flags.usageError("--mutation: %s", err)
	}
	if options.redis, err = checkRedisChoice(f.redis, options.target); err != nil {
		return options, flags.usageError("%s", err)
	}
	if f.pace < 0 {
		return options, flags.usageError("--pace %v: want 0 (full speed) or a positive multiple of real time", f.pace)
	}
	if f.hold && f.dashboard == "" {
		return options, flags.usageError("--hold keeps the dashboard up: it needs --dashboard ADDR")
	}
	if f.dashboard != "" {
		if err := checkListen(f.dashboard); err != nil {
			return options, flags.usageError("--dashboard: %s", strings.TrimPrefix(err.Error(), "--listen "))
		}
	}
	return options, 0
}

// withDuration applies --duration (d) or --duration-max (most) to the
// scenario, returning the workload length given (0: the scenario's own).
func withDuration(sc *scenarios.Scenario, d, most time.Duration) (*scenarios.Scenario, time.Duration, error) {
	switch {
	case d < 0 || most < 0:
		return sc, 0, fmt.Errorf("--duration and --duration-max take a positive duration, like 60s")
	case d > 0 && most > 0:
		return sc, 0, fmt.Errorf("--duration and --duration-max exclude each other")
	case most > 0 && sc.Workload.Duration > most:
		d = most
	}
	if d == 0 {
		return sc, 0, nil
	}
	changed, err := sc.WithDuration(d)
	if err != nil {
		return sc, 0, err
	}
	return changed, d, nil
}

// parseSeedRange reads "A-B" with A <= B.
func parseSeedRange(text string) (uint64, uint64, error) {
	first, last, found := strings.Cut(text, "-")
	a, errA := strconv.ParseUint(first, 10, 64)
	b, errB := strconv.ParseUint(last, 10, 64)
	switch {
	case !found || errA != nil || errB != nil:
		return 0, 0, fmt.Errorf("--seeds %q: want a range like 1-200", text)
	case b < a:
		return 0, 0, fmt.Errorf("--seeds %q: the range ends before it starts", text)
	case b-a >= seedsPerSweepMax:
		return 0, 0, fmt.Errorf("--seeds %q: at most %d seeds per sweep", text, seedsPerSweepMax)
	}
	return a, b, nil
}

// chaosTargets builds the real targets' clusters: --target local runs this
// very binary as the nodes and the balancer; --target docker runs the
// chatlab:dev image. sim is built by newCluster itself.
var chaosTargets = map[string]func(sc *scenarios.Scenario, options chaosOptions, seed uint64) (chaos.Cluster, error){
	"local":  newLocalTarget,
	"docker": newDockerTarget,
}

// newCluster prepares the target's cluster for one seed.
func newCluster(options chaosOptions, seed uint64) (chaos.Cluster, error) {
	if options.target == "sim" {
		simOptions := chaos.SimOptions{Seed: seed, Delivery: options.delivery, Mutation: options.mutation,
			RedisCluster: options.redis == local.RedisCluster}
		if err := chaos.SimRefusal(options.scenario, simOptions); err != nil {
			return nil, err
		}
		return chaos.NewSimCluster(options.scenario, simOptions), nil
	}
	return chaosTargets[options.target](options.scenario, options, seed)
}

// replayCommand is the command line that runs the same scenario, target,
// seed and options again.
func replayCommand(options chaosOptions, seed uint64) string {
	parts := []string{invocation + " chaos"}
	if options.scenario.File != "" && !strings.HasPrefix(options.scenario.File, "scenarios/") {
		parts = append(parts, "--file", options.scenario.File)
	} else {
		parts = append(parts, "--scenario", options.scenario.Name)
	}
	parts = append(parts, "--target", options.target, "--seed", strconv.FormatUint(seed, 10))
	if options.duration > 0 {
		parts = append(parts, "--duration", options.duration.String())
	}
	if options.delivery != options.scenario.Topology.Delivery {
		parts = append(parts, "--delivery", string(options.delivery))
	}
	if options.mutation != "" {
		parts = append(parts, "--mutation", string(options.mutation))
	}
	if options.redis != "" {
		parts = append(parts, "--redis", options.redis)
	}
	return strings.Join(parts, " ")
}

// runOne runs one seed, writes its report and prints the verdict and the
// report's path.
func runOne(ctx context.Context, options chaosOptions, stdout, stderr io.Writer) int {
	cluster, err := newCluster(options, options.seedFirst)
	if err != nil {
		fmt.Fprintf(stderr, "chatlab chaos: %s\n", err)
		var refused *chaos.RefusedError
		if errors.As(err, &refused) {
			return 2
		}
		return 1
	}
	runOptions := chaos.RunOptions{Scenario: options.scenario, Cluster: cluster, Seed: options.seedFirst,
		Delivery: options.delivery, Pace: options.pace}
	observer, stopDashboard, err := startChaosDashboard(ctx, options, &runOptions, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "chatlab chaos: dashboard: %s\n", err)
		return 1
	}
	defer stopDashboard()
	var progress *runProgress
	if options.target != "sim" {
		// A real run takes its workload's duration and more: show where
		// it is rather than nothing.
		progress = newRunProgress(stderr, options)
		if runOptions.Observer != nil {
			runOptions.Observer = observers{runOptions.Observer, progress}
		} else {
			runOptions.Observer = progress
		}
	}
	result, err := chaos.Run(ctx, runOptions)
	progress.clear()
	if err != nil && ctx.Err() != nil {
		// SIGTERM or Ctrl-C: the run was stopped, not broken.
		fmt.Fprintln(stderr, "chatlab chaos: interrupted; no report written")
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "chatlab chaos: %s\n", err)
		return 1
	}
	dir, err := chaos.WriteReport(options.out, result, replayCommand(options, options.seedFirst))
	if err != nil {
		fmt.Fprintf(stderr, "chatlab chaos: write report: %s\n", err)
		return 1
	}
	printVerdict(stderr, result)
	fmt.Fprintln(stdout, dir)
	if observer != nil {
		observer.Done(result, dir)
		if options.hold {
			fmt.Fprintln(stderr, "dashboard: the run is over; still serving until interrupted (Ctrl-C)")
			<-ctx.Done()
		}
	}
	if !result.Passed() {
		if options.shrink {
			shrinkRun(ctx, options, result, stdout, stderr)
		}
		return 1
	}
	return 0
}

// printVerdict says what happened in a few lines a person reads first.
func printVerdict(w io.Writer, result *chaos.Result) {
	s := result.Stats
	if result.Mutation != "" {
		fmt.Fprintf(w, "nodes broken on purpose (--mutation %s): failing checks show the checkers catching the planted bug\n", result.Mutation)
	}
	verdict := strings.ToUpper(result.Verdict) + ":"
	if broke := expectedBreaks(result); broke != "" && result.Passed() {
		// A pass that lost messages on purpose must not read like a
		// clean one.
		verdict = broke + "."
	}
	fmt.Fprintf(w, "%s %s on %s, seed %d, %s delivery: sent %d, acked %d, delivered %d, lost %d, duplicated %d, reordered %d; latency p50 %.0f ms, p99 %.0f ms\n",
		verdict, result.Scenario.Name, result.Target, result.Seed, result.Delivery,
		s.Sent, s.Acked, s.Delivered, s.Lost, s.Duplicated, s.Reordered, s.LatencyMs.P50, s.LatencyMs.P99)
	for _, failure := range result.Failures {
		fmt.Fprintf(w, "  - %s\n", failure)
	}
}

// expectedBreaks says which properties the scenario expects to break did
// break, and how often, as the report's banner does ("no-loss broke, as
// expected: 47 lost"); "" when none.
func expectedBreaks(result *chaos.Result) string {
	var phrases []string
	for _, property := range result.Scenario.Expect.Break {
		for _, c := range result.Checks {
			if c.Name == string(property) && c.Violations > 0 {
				phrases = append(phrases, reports.BreakPhrase(c.Name, c.Violations))
			}
		}
	}
	return strings.Join(phrases, "; ")
}

// isTerminal reports whether w is a terminal, for the progress bar.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
