package chaos

import (
	"context"
	"fmt"
	"time"

	"github.com/anishathalye/porcupine"

	"chatlab/chaos/check"
	"chatlab/scenarios"
	"chatlab/system/broker/redisscript"
	"chatlab/system/node"
)

// Runner defaults.
const (
	// convergeWithinDefault is the liveness bound when a scenario sets none.
	convergeWithinDefault = 15 * time.Second
	// observeInterval is how often a watched run reports its state.
	observeInterval = 250 * time.Millisecond
)

// CheckLiveness is the runner's own check: after the faults are healed
// and sends stop, every client converges within the scenario's bound.
const CheckLiveness = "liveness"

// RunOptions say what to run and how.
type RunOptions struct {
	Scenario *scenarios.Scenario
	// Cluster is the target, prepared for Scenario (NewSimCluster, ...).
	Cluster Cluster
	Seed    uint64
	// Delivery is the mode the run uses (the scenario's unless overridden).
	Delivery node.Delivery
	// Observer, when set, hears the run as it happens (the dashboard).
	Observer Observer
	// Pace slows a simulated run to Pace times real time (1: real time);
	// 0 runs at full speed. Real targets always run in real time.
	Pace float64
	// LinearizabilityTimeout bounds porcupine per run (0: the default).
	LinearizabilityTimeout time.Duration
}

// Observer hears a run as it happens. Calls come from the runner's
// goroutine; an observer must not block.
type Observer interface {
	Step(at time.Duration, step Step)
	Sample(sample Sample, history check.History)
	Checked(checks []check.Check)
}

// AppliedFault is one timeline step as it was carried out (report.json
// faults[]).
type AppliedFault struct {
	AtMs   int64  `json:"at_ms"`
	Action string `json:"action"`
	Target string `json:"target"`
}

// Result is a finished run.
type Result struct {
	Scenario *scenarios.Scenario
	Target   string
	// Redis says which Redis ran (real targets; see RedisDescriber).
	Redis string
	// Mutation is how the nodes were broken on purpose ("": not at all).
	Mutation  node.Mutation
	Seed      uint64
	Delivery  node.Delivery
	Verdict   string // "pass" or "fail"
	Checks    []check.Check
	Stats     check.Stats
	Faults    []AppliedFault
	Windows   []Window
	TraceHash string
	WallMs    int64
	History   check.History
	Samples   []Sample
	// Failures say which expectation did not hold, one line each.
	Failures []string
	// linearization is the linearizability check's search, which the
	// report draws (nil in pubsub mode).
	linearization *porcupine.LinearizationInfo
}

// Passed reports the verdict.
func (r *Result) Passed() bool { return r.Verdict == "pass" }

// Run carries out one run: start, the fault timeline against the workload,
// the liveness phase, the checks and the verdict. An error means the run
// could not be carried out (the target failed), not that a check failed.
func Run(ctx context.Context, options RunOptions) (*Result, error) {
	sc, cluster := options.Scenario, options.Cluster
	settler, settles := cluster.(Settler)
	if property := sc.ProcessProperty(); property != "" && !settles {
		return nil, Refused("scenario %s expects %s, which judges the goroutines, heap and open file descriptors of the node and "+
			"balancer processes; the %s target runs its nodes as state machines inside one process, with none of their own: "+
			"run it with --target local or --target docker", sc.Name, property, cluster.Target())
	}
	if r, ok := cluster.(interface{ refusal() error }); ok {
		if err := r.refusal(); err != nil {
			return nil, err
		}
	}
	if sc.Topology.Redis == scenarios.RedisCluster && cluster.Target() == "docker" {
		return nil, Refused("scenario %s runs on a Redis Cluster (topology redis: cluster), which the docker target does not start: "+
			"run it with --target local or --target sim", sc.Name)
	}
	wallStart := time.Now()
	announce(options, PhaseStarting, 0)
	if err := cluster.Start(ctx); err != nil {
		return nil, fmt.Errorf("start %s cluster: %w", cluster.Target(), err)
	}
	defer cluster.Stop()
	result := &Result{Scenario: sc, Target: cluster.Target(), Seed: options.Seed, Delivery: options.Delivery}
	if d, ok := cluster.(RedisDescriber); ok {
		result.Redis = d.RedisDescription()
	}
	if m, ok := cluster.(Mutated); ok {
		result.Mutation = m.Mutation()
	}
	pacer := newPacer(options, wallStart)
	announce(options, PhaseRunning, cluster.Now())
	for _, step := range Timeline(sc.Faults) {
		if err := pacer.runUntil(ctx, cluster, step.At); err != nil {
			return nil, err
		}
		if err := cluster.Apply(ctx, step); err != nil {
			return nil, fmt.Errorf("apply %s at %s: %w", step.Fault.Action, step.At, err)
		}
		action, target := step.Label()
		result.Faults = append(result.Faults, AppliedFault{AtMs: step.At.Milliseconds(), Action: action, Target: target})
		if options.Observer != nil {
			options.Observer.Step(step.At, step)
		}
	}
	if err := pacer.runUntil(ctx, cluster, sc.Workload.Duration); err != nil {
		return nil, err
	}
	limit := sc.Expect.ConvergeWithin
	if limit <= 0 {
		limit = convergeWithinDefault
	}
	announce(options, PhaseConverging, cluster.Now())
	converged, detail, err := cluster.Converge(ctx, limit)
	if err != nil {
		return nil, fmt.Errorf("converge: %w", err)
	}
	result.History = cluster.History()
	var ghosts *check.Check
	if sc.Expects(scenarios.NoGhosts) {
		leaver, leaves := cluster.(Leaver)
		if !leaves {
			return nil, fmt.Errorf("the %s target cannot let its clients go for %s", cluster.Target(), scenarios.NoGhosts)
		}
		announce(options, PhaseLeaving, cluster.Now())
		leaving, err := leaver.Leave(ctx, time.Duration(check.GhostsWithinDefault)*time.Millisecond)
		if err != nil {
			return nil, fmt.Errorf("leave: %w", err)
		}
		judged := check.JudgeGhosts(leaving)
		ghosts = &judged
	}
	if sc.ProcessProperty() != "" {
		announce(options, PhaseSettling, cluster.Now())
		if err := settler.Settle(ctx, check.LeakToleranceDefault); err != nil {
			return nil, fmt.Errorf("settle: %w", err)
		}
	}
	announce(options, PhaseChecking, cluster.Now())
	result.Samples = cluster.Samples()
	result.Windows = Windows(sc.Faults, sc.Workload.Duration)
	result.TraceHash = cluster.TraceHash()
	checks, stats, linearization := check.CheckHistoryLinearized(result.History, check.CheckOptions{Delivery: string(options.Delivery),
		LatencyP99MaxMs: float64(sc.Expect.LatencyP99MaxMs), LinearizabilityTimeout: options.LinearizabilityTimeout,
		LatencyExcludedSenders: []string{FloodClientPrefix}, HistoryLenMax: HistoryLenMax(sc.Topology)})
	checks = append(checks, check.CheckFacts(result.History, runFacts(sc, cluster.Decisions(), cluster.Target() != "sim"))...)
	if ghosts != nil {
		checks = append(checks, *ghosts)
	}
	if sc.ProcessProperty() != "" {
		checks = append(checks, check.JudgeLeaks(runtimeOf(result.Samples), check.LeakToleranceDefault))
	}
	liveness := check.Check{Name: CheckLiveness, OK: converged, Detail: "every client converged within " + limit.String()}
	if !converged {
		liveness.Violations, liveness.Detail = 1, "not converged within "+limit.String()+": "+detail
	}
	result.Checks, result.Stats, result.linearization = append(checks, liveness), stats, linearization
	result.Failures = judge(sc.Expect, result.Checks)
	result.Verdict = "pass"
	if len(result.Failures) > 0 {
		result.Verdict = "fail"
	}
	result.WallMs = time.Since(wallStart).Milliseconds()
	if options.Observer != nil {
		options.Observer.Checked(result.Checks)
	}
	return result, nil
}

// HistoryLenMax is what each room's stream retains in a run of the
// topology: its setting, or the broker's default when the scenario was
// built without one.
func HistoryLenMax(t scenarios.Topology) int {
	if t.HistoryLenMax > 0 {
		return t.HistoryLenMax
	}
	return redisscript.HistoryLenMaxDefault
}

// propertyChecks maps a scenario property to the check that decides it.
var propertyChecks = map[scenarios.Property]string{
	scenarios.NoLoss:       check.CheckNoLoss,
	scenarios.NoDuplicates: check.CheckNoDuplicates,
	scenarios.Order:        check.CheckOrder,
	scenarios.Resumed:      check.CheckResume,
	scenarios.Linearizable: check.CheckLinearizable,
	scenarios.Liveness:     CheckLiveness,
	scenarios.ClientDedupe: check.CheckClientDedupe,
	scenarios.Acks:         check.CheckAcks,
	scenarios.Resets:       check.CheckResets,
	scenarios.Welcome:      check.CheckWelcome,
	scenarios.Integrity:    check.CheckIntegrity,
	scenarios.CloseCodes:   check.CheckCloseCodes,
	scenarios.Balanced:     check.CheckBalancer,
	scenarios.CutOff:       check.CheckCutOff,
	scenarios.Recovered:    check.CheckRecovery,
	scenarios.DeliveryLag:  check.CheckDeliveryLag,
	scenarios.NoHarm:       check.CheckNoHarm,
	scenarios.NoLeak:       check.CheckNoLeak,
	scenarios.RateLimited:  check.CheckRateLimit,
	scenarios.NoGhosts:     check.CheckNoGhosts,
	scenarios.JoinLive:     check.CheckJoinLive,
}

// runtimeOf are the runtime figures of every sample.
func runtimeOf(samples []Sample) []check.RuntimeSample {
	var out []check.RuntimeSample
	for _, s := range samples {
		out = append(out, s.Runtime...)
	}
	return out
}

// judge compares the checks with the scenario's expectations: every held
// property's check passed, every property that must break failed, and the
// latency bound (a check of its own) held.
func judge(expect scenarios.Expectations, checks []check.Check) []string {
	byName := map[string]check.Check{}
	for _, c := range checks {
		byName[c.Name] = c
	}
	var failures []string
	for _, property := range expect.Hold {
		if c := byName[propertyChecks[property]]; !c.OK {
			failures = append(failures, fmt.Sprintf("%s must hold but failed: %s", property, c.Detail))
		}
	}
	for _, property := range expect.Break {
		if c := byName[propertyChecks[property]]; c.OK {
			failures = append(failures, fmt.Sprintf("%s must be seen to break but held", property))
		}
	}
	if c := byName[check.CheckLatency]; expect.LatencyP99MaxMs > 0 && !c.OK {
		failures = append(failures, "latency bound exceeded: "+c.Detail)
	}
	return failures
}

// pacer advances a cluster along the timeline, in slices when someone
// watches or the run is paced, at once otherwise.
type pacer struct {
	options   RunOptions
	wallStart time.Time
	lastShown time.Duration
}

func newPacer(options RunOptions, wallStart time.Time) *pacer {
	return &pacer{options: options, wallStart: wallStart}
}

func (p *pacer) runUntil(ctx context.Context, cluster Cluster, t time.Duration) error {
	if p.options.Observer == nil && p.options.Pace <= 0 {
		return cluster.RunUntil(ctx, t)
	}
	for now := cluster.Now(); now < t; now = cluster.Now() {
		next := min(now+observeInterval, t)
		if err := cluster.RunUntil(ctx, next); err != nil {
			return err
		}
		if p.options.Pace > 0 && cluster.Target() == "sim" {
			due := p.wallStart.Add(time.Duration(float64(next) / p.options.Pace))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Until(due)):
			}
		}
		if p.options.Observer != nil && next-p.lastShown >= observeInterval {
			p.lastShown = next
			samples := cluster.Samples()
			if len(samples) > 0 {
				p.options.Observer.Sample(samples[len(samples)-1], cluster.History())
			}
		}
	}
	return nil
}
