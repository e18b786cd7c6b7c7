// Package runfeed shows a chaos run in the live dashboard: it is the run's
// observer (chaos.Observer) and publishes what happens into a
// dashboard.Feed, as the browser's reducer (dashboard/src/feed.ts) expects.
package runfeed

import (
	"path/filepath"
	"sort"
	"strings"
	"time"

	"chatlab/chaos"
	"chatlab/chaos/check"
	"chatlab/dashboard"
	"chatlab/scenarios"
	"chatlab/system/client"
	"chatlab/system/node"
)

// Watched runs.
const (
	// liveCheckEveryMs is how often (run time) the checkers look at the
	// history so far.
	liveCheckEveryMs = 2000
	// restartShownMs is how long (run time) a component restarted in an
	// instant is shown down.
	restartShownMs = 1000
)

// Observer publishes a run into the dashboard's feed as it happens: the
// topology, each component's state, once-a-second stats, the faults, and
// the checkers' running verdicts. It is the run's chaos.Observer.
type Observer struct {
	feed     *dashboard.Feed
	scenario *scenarios.Scenario
	state    map[string]dashboard.Component
	// downUntilMs keeps a restarted component shown down for a moment.
	downUntilMs map[string]int64
	sentAtMs    map[string]int64 // ordinary clients' sends, for latency
	seen        int              // history records already counted
	lastMs      int64
	checkMs     int64
	delivery    string
	pace        float64
}

// Run is what the feed says of the run it shows.
type Run struct {
	Scenario *scenarios.Scenario
	Target   string // sim, local or docker
	Seed     uint64
	Delivery node.Delivery
	Pace     float64 // 1: real time; 0: full speed
}

// New publishes the start of run and returns the observer that publishes
// the rest of it.
func New(feed *dashboard.Feed, run Run) *Observer {
	o := &Observer{feed: feed, scenario: run.Scenario, state: map[string]dashboard.Component{}, downUntilMs: map[string]int64{},
		sentAtMs: map[string]int64{}, delivery: string(run.Delivery), pace: run.Pace}
	mode, _ := dashboard.ModeOf(run.Target) // every target has one (cmd/chatlab's TestEveryTargetHasADashboardMode)
	feed.Publish(dashboard.Run{Mode: mode, Scenario: run.Scenario.Name, Target: run.Target,
		Seed: run.Seed, Delivery: string(run.Delivery), Pace: run.Pace, State: dashboard.RunRunning})
	feed.Publish(dashboard.Topology{Nodes: run.Scenario.Topology.Nodes, Balancer: "balancer", Redis: "redis"})
	for _, name := range o.components() {
		o.set(0, name, func(c *dashboard.Component) { c.State = dashboard.StateUp })
	}
	return o
}

func (o *Observer) components() []string {
	return append(append([]string{}, o.scenario.Topology.Nodes...), "balancer", "redis")
}

// set changes one component's state and publishes it when it changed.
func (o *Observer) set(atMs int64, name string, change func(c *dashboard.Component)) {
	before := o.state[name]
	after := before
	after.Name, after.PartitionedFrom = name, append([]string(nil), before.PartitionedFrom...)
	change(&after)
	sort.Strings(after.PartitionedFrom)
	if after.State == before.State && strings.Join(after.PartitionedFrom, ",") == strings.Join(before.PartitionedFrom, ",") {
		return
	}
	after.TMs = atMs
	o.state[name] = after
	o.feed.Publish(after)
}

// Step publishes a fault and what it does to the components' states.
func (o *Observer) Step(at time.Duration, step chaos.Step) {
	atMs := at.Milliseconds()
	action, target := step.Label()
	fault := dashboard.Fault{AtMs: atMs, Action: action, Target: target}
	if !step.End {
		fault.DurationMs = step.Fault.Duration.Milliseconds()
	}
	o.feed.Publish(fault)
	f := step.Fault
	switch {
	case !step.End && (f.Action == scenarios.Kill || f.Action == scenarios.Restart):
		// A restart takes no virtual time: without this the samples would
		// never show the node down. It shows down for restartShownMs of
		// run time, while its clients reconnect elsewhere.
		o.set(atMs, f.Target, func(c *dashboard.Component) { c.State = dashboard.StateDown })
		o.downUntilMs[f.Target] = atMs + restartShownMs
	case !step.End && f.Action == scenarios.BalancerRestart:
		o.set(atMs, "balancer", func(c *dashboard.Component) { c.State = dashboard.StateDown })
	case !step.End && f.Action == scenarios.RedisRestart:
		o.set(atMs, "redis", func(c *dashboard.Component) { c.State = dashboard.StateDown })
	case f.Action == scenarios.Pause && !step.End, f.Action == scenarios.Resume:
		state := dashboard.StatePaused
		if f.Action == scenarios.Resume {
			state = dashboard.StateUp
		}
		o.set(atMs, f.Target, func(c *dashboard.Component) { c.State = state })
	case f.Action == scenarios.Partition:
		a, b := f.Link[0], f.Link[1]
		o.set(atMs, a, func(c *dashboard.Component) { c.PartitionedFrom = toggle(c.PartitionedFrom, b, !step.End) })
		o.set(atMs, b, func(c *dashboard.Component) { c.PartitionedFrom = toggle(c.PartitionedFrom, a, !step.End) })
	case f.Action == scenarios.Heal:
		for _, name := range o.components() {
			if f.Target == "" || name == f.Link[0] || name == f.Link[1] {
				o.set(atMs, name, func(c *dashboard.Component) { c.PartitionedFrom = nil })
			}
		}
	case f.Action == scenarios.Drain:
		state := dashboard.StateDraining
		if step.End {
			state = dashboard.StateUp
		}
		o.set(atMs, f.Target, func(c *dashboard.Component) { c.State = state })
	}
}

// toggle adds or removes name.
func toggle(names []string, name string, on bool) []string {
	kept := names[:0]
	for _, n := range names {
		if n != name {
			kept = append(kept, n)
		}
	}
	if on {
		kept = append(kept, name)
	}
	return kept
}

// Sample publishes the interval's stats and the components' process
// states, and now and then the checkers' running verdicts.
func (o *Observer) Sample(sample chaos.Sample, history check.History) {
	nowMs := sample.AtMs
	names := make([]string, 0, len(sample.Up))
	for name := range sample.Up {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		up := sample.Up[name] && nowMs >= o.downUntilMs[name]
		o.set(nowMs, name, func(c *dashboard.Component) {
			switch {
			case up && c.State != dashboard.StateDraining:
				c.State = dashboard.StateUp
			case !up && c.State != dashboard.StatePaused:
				// A paused process does not run either; the pause step
				// said which it is.
				c.State = dashboard.StateDown
			}
		})
	}
	o.publishStats(nowMs, sample, history)
	if nowMs-o.checkMs >= liveCheckEveryMs {
		o.checkMs = nowMs
		o.publishRunningChecks(history)
	}
}

func (o *Observer) publishStats(nowMs int64, sample chaos.Sample, history check.History) {
	seconds := float64(nowMs-o.lastMs) / 1000
	if seconds <= 0 {
		// No run time has passed (the simulator samples twice at one
		// instant): what happened since the last stats is counted in the
		// next interval, not dropped.
		return
	}
	o.lastMs = nowMs
	var sends, deliveries float64
	var latencies []float64
	for _, r := range history[o.seen:] {
		switch {
		case r.Kind == client.KindSent:
			sends++
			if !strings.HasPrefix(r.Client, chaos.FloodClientPrefix) {
				o.sentAtMs[r.ID] = r.AtMs
			}
		case r.Kind == client.KindDelivered && !r.Duplicate:
			deliveries++
			if sent, ok := o.sentAtMs[r.ID]; ok {
				latencies = append(latencies, float64(r.AtMs-sent))
			}
		}
	}
	o.seen = len(history)
	stats := dashboard.Stats{TMs: nowMs, SendsPerS: sends / seconds, DeliveriesPerS: deliveries / seconds, Connections: sample.Connections}
	if len(latencies) > 0 {
		sort.Float64s(latencies)
		stats.Latency = &dashboard.Latency{P50Ms: latencies[len(latencies)/2], P99Ms: latencies[len(latencies)*99/100]}
	}
	o.feed.Publish(stats)
}

// publishRunningChecks checks the history so far. Loss (of seqs and of
// acked messages) can only be judged once the run is quiet, and the
// scenario's other checks (liveness, close codes, recovery, ...) need the
// whole run: they show as pending until the end.
func (o *Observer) publishRunningChecks(history check.History) {
	options := check.CheckOptions{Delivery: o.delivery, LatencyExcludedSenders: []string{chaos.FloodClientPrefix}}
	if o.scenario != nil {
		options.HistoryLenMax = chaos.HistoryLenMax(o.scenario.Topology)
	}
	checks, _ := check.CheckHistory(history, options)
	running := map[string]bool{}
	for _, c := range checks {
		running[c.Name] = true
		if c.Name == check.CheckNoLoss || c.Name == check.CheckAcks {
			o.feed.Publish(dashboard.Check{Name: c.Name, Pending: true, Detail: "judged once the run is quiet"})
			continue
		}
		o.feed.Publish(dashboard.Check{Name: c.Name, OK: c.OK, Violations: c.Violations, Detail: "so far: " + c.Detail})
	}
	if o.scenario == nil {
		return
	}
	for _, expected := range [][]scenarios.Property{o.scenario.Expect.Hold, o.scenario.Expect.Break} {
		for _, property := range expected {
			if name := string(property); !running[name] {
				running[name] = true
				o.feed.Publish(dashboard.Check{Name: name, Pending: true, Detail: "judged when the run ends"})
			}
		}
	}
}

// Checked publishes the final verdicts.
func (o *Observer) Checked(checks []check.Check) {
	for _, c := range checks {
		o.feed.Publish(dashboard.Check{Name: c.Name, OK: c.OK, Violations: c.Violations, Detail: c.Detail})
	}
}

// Done publishes the end of the run and where its report is.
func (o *Observer) Done(result *chaos.Result, dir string) {
	mode, _ := dashboard.ModeOf(result.Target)
	o.feed.Publish(dashboard.Run{Mode: mode, Scenario: result.Scenario.Name, Target: result.Target,
		Seed: result.Seed, Delivery: string(result.Delivery), Pace: o.pace, State: dashboard.RunDone, TMs: o.lastMs, Verdict: result.Verdict,
		Report: filepath.Base(dir)})
}
