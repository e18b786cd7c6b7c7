package hunt

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"chatlab/chaos"
	"chatlab/scenarios"
	"chatlab/system/balance"
	"chatlab/system/broker/redisscript"
	"chatlab/system/node"
)

// Runner runs one scenario with one seed and returns the finished run; an
// error means the run could not be carried out. The hunt and the shrinker
// take one so that tests can stand in for the simulator.
type Runner func(ctx context.Context, sc *scenarios.Scenario, seed uint64) (*chaos.Result, error)

// SimRunner runs on the simulator with the nodes broken by mutation
// ("" for the system as built).
func SimRunner(mutation node.Mutation) Runner {
	return func(ctx context.Context, sc *scenarios.Scenario, seed uint64) (*chaos.Result, error) {
		cluster := chaos.NewSimCluster(sc, chaos.SimOptions{Seed: seed, Mutation: mutation})
		return chaos.Run(ctx, chaos.RunOptions{Scenario: sc, Cluster: cluster, Seed: seed, Delivery: sc.Topology.Delivery})
	}
}

// Size is how big a scenario is, for "shrunk from" (report.json
// shrunk_from.before and .after).
type Size struct {
	Nodes      int   `json:"nodes"`
	Clients    int   `json:"clients"`
	Rooms      int   `json:"rooms"`
	Faults     int   `json:"faults"`
	DurationMs int64 `json:"duration_ms"`
	// Sends is how many sends the workload makes on average: clients ×
	// send rate × duration.
	Sends int `json:"sends"`
}

// SizeOf measures a scenario.
func SizeOf(s *scenarios.Scenario) Size {
	return Size{Nodes: len(s.Topology.Nodes), Clients: s.Workload.Clients, Rooms: s.Workload.Rooms, Faults: len(s.Faults),
		DurationMs: s.Workload.Duration.Milliseconds(),
		Sends:      int(float64(s.Workload.SendRatePerClient) * float64(s.Workload.Clients) * s.Workload.Duration.Seconds())}
}

// String reads "12 clients, 3 rooms, 3 nodes, 2 faults, 14s, ~336 sends".
func (s Size) String() string {
	return fmt.Sprintf("%d clients, %d rooms, %d nodes, %d faults, %s, ~%d sends", s.Clients, s.Rooms, s.Nodes, s.Faults,
		time.Duration(s.DurationMs)*time.Millisecond, s.Sends)
}

// ShrinkOptions say what to shrink toward.
type ShrinkOptions struct {
	Run  Runner
	Seed uint64
	// Check is the check that must keep failing (its name, as in
	// report.json checks[].name).
	Check string
	// Budget bounds the shrink's wall time; it stops with what it has.
	Budget time.Duration
	// CandidatesMax bounds the runs it tries (0: shrinkCandidatesMax).
	CandidatesMax int
}

// shrinkCandidatesMax bounds a shrink's runs when the caller sets no bound.
const shrinkCandidatesMax = 400

// Shrunk is a shrink's outcome.
type Shrunk struct {
	// Scenario is the smallest scenario found that still fails Check; the
	// original when nothing smaller does.
	Scenario *scenarios.Scenario
	// Result is Scenario's failing run.
	Result *chaos.Result
	Check  string
	Before Size
	After  Size
	// Removed says what was taken away or made plainer, one step each, in
	// the order they were accepted.
	Removed []string
	// Candidates is how many runs were tried; Minimal whether the search
	// ended at a local minimum (every smaller step passed) rather than at
	// its budget.
	Candidates int
	Minimal    bool
	Wall       time.Duration
}

// candidate is one smaller scenario to try and what it takes away.
type candidate struct {
	scenario *scenarios.Scenario
	step     string
}

// Shrink searches for the smallest scenario that still fails opts.Check
// with opts.Seed, starting from failing (whose run failed that check):
// delta debugging over the scenario's parts, each candidate a run. Each
// round tries the reductions in order (fewer faults, fewer nodes, clients
// and rooms, shorter duration, faults earlier and shorter, lower rates,
// default knobs) and takes the first that still fails; it stops when no
// reduction fails (a local minimum) or at the budget.
func Shrink(ctx context.Context, failing *scenarios.Scenario, first *chaos.Result, opts ShrinkOptions) (*Shrunk, error) {
	start := time.Now()
	limit := opts.CandidatesMax
	if limit <= 0 {
		limit = shrinkCandidatesMax
	}
	out := &Shrunk{Scenario: failing, Result: first, Check: opts.Check, Before: SizeOf(failing), Removed: []string{}}
	seen := map[string]bool{failing.Hash(): true}
	for {
		progressed := false
		for _, c := range reductions(out.Scenario) {
			if ctx.Err() != nil || out.Candidates >= limit || (opts.Budget > 0 && time.Since(start) >= opts.Budget) {
				out.After, out.Wall = SizeOf(out.Scenario), time.Since(start)
				return out, ctx.Err()
			}
			parsed, ok := valid(c.scenario, failing.Name)
			if !ok || seen[parsed.Hash()] {
				continue
			}
			seen[parsed.Hash()] = true
			out.Candidates++
			result, err := opts.Run(ctx, parsed, opts.Seed)
			if err != nil {
				if ctx.Err() != nil {
					continue
				}
				return nil, fmt.Errorf("shrink: run %s: %w", c.step, err)
			}
			if slices.Contains(result.FailedChecks(), opts.Check) {
				out.Scenario, out.Result = parsed, result
				out.Removed = append(out.Removed, c.step)
				progressed = true
				break
			}
		}
		if !progressed {
			out.Minimal = true
			out.After, out.Wall = SizeOf(out.Scenario), time.Since(start)
			return out, nil
		}
	}
}

// valid parses a candidate: a reduction may break the timeline (a resume
// whose pause was removed), and such a candidate is skipped, not run.
func valid(s *scenarios.Scenario, name string) (*scenarios.Scenario, bool) {
	s.Name = name
	parsed, err := parse(s)
	if err != nil {
		return nil, false
	}
	return parsed, true
}

// reductions lists the candidates one step smaller than s, the biggest
// steps first.
func reductions(s *scenarios.Scenario) []candidate {
	var out []candidate
	add := func(step string, change func(c *scenarios.Scenario)) {
		c := clone(s)
		change(c)
		out = append(out, candidate{scenario: c, step: step})
	}
	// Fewer faults: all, then halves, then one at a time (with the
	// resumes and heals that only close what was removed).
	if n := len(s.Faults); n > 0 {
		add(fmt.Sprintf("all %d faults", n), func(c *scenarios.Scenario) { c.Faults = nil })
		for chunk := n / 2; chunk >= 1; chunk /= 2 {
			for from := 0; from < n; from += chunk {
				to := min(from+chunk, n)
				if to-from == n {
					continue
				}
				removed := faultList(s.Faults[from:to])
				add("fault "+removed, func(c *scenarios.Scenario) {
					c.Faults = slices.Delete(c.Faults, from, to)
					c.Faults = dropOrphans(c.Faults)
				})
			}
		}
	}
	// Fewer nodes: the last ones, when no fault names them.
	if n := len(s.Topology.Nodes); n > 1 {
		for _, keep := range smaller(n, 1) {
			add(fmt.Sprintf("%d of %d nodes", n-keep, n), func(c *scenarios.Scenario) { c.Topology.Nodes = c.Topology.Nodes[:keep] })
		}
	}
	// Fewer clients and rooms.
	for _, clients := range smaller(s.Workload.Clients, 1) {
		add(fmt.Sprintf("%d of %d clients", s.Workload.Clients-clients, s.Workload.Clients), func(c *scenarios.Scenario) {
			c.Workload.Clients = clients
			for i := range c.Faults {
				if c.Faults[i].Action == scenarios.SlowConsumer || c.Faults[i].Action == scenarios.Away {
					c.Faults[i].Clients = min(c.Faults[i].Clients, clients)
				}
			}
		})
	}
	for _, rooms := range smaller(s.Workload.Rooms, 1) {
		add(fmt.Sprintf("%d of %d rooms", s.Workload.Rooms-rooms, s.Workload.Rooms), func(c *scenarios.Scenario) { c.Workload.Rooms = rooms })
	}
	// A shorter run: cut after the last fault's window, then halve.
	end := time.Second
	for _, f := range s.Faults {
		end = max(end, f.End()+time.Second, f.At+time.Second)
	}
	for _, d := range shorter(s.Workload.Duration, end) {
		add(fmt.Sprintf("%s of %s run time", s.Workload.Duration-d, s.Workload.Duration), func(c *scenarios.Scenario) { c.Workload.Duration = d })
	}
	// Faults earlier: the whole schedule moved to start at 1 s, then each
	// fault alone moved back.
	if len(s.Faults) > 0 && s.Faults[0].At > time.Second {
		shift := (s.Faults[0].At - time.Second).Round(100 * time.Millisecond)
		add(fmt.Sprintf("%s before the first fault", shift), func(c *scenarios.Scenario) {
			for i := range c.Faults {
				c.Faults[i].At -= shift
			}
		})
	}
	for i, f := range s.Faults {
		earliest := time.Duration(0)
		if i > 0 {
			earliest = s.Faults[i-1].At
		}
		if at := earliest + (f.At-earliest)/2; at < f.At && f.At-at >= 100*time.Millisecond {
			add(fmt.Sprintf("%s of fault %d's start (%s)", f.At-at.Round(time.Millisecond), i+1, f.Action), func(c *scenarios.Scenario) {
				c.Faults[i].At = at.Round(time.Millisecond)
			})
		}
		if f.Duration >= 200*time.Millisecond {
			add(fmt.Sprintf("half of fault %d's window (%s)", i+1, f.Action), func(c *scenarios.Scenario) {
				c.Faults[i].Duration = (f.Duration / 2).Round(100 * time.Millisecond)
			})
		}
		for _, n := range smaller(f.Clients, 1) {
			add(fmt.Sprintf("%d of fault %d's %d clients (%s)", f.Clients-n, i+1, f.Clients, f.Action), func(c *scenarios.Scenario) {
				c.Faults[i].Clients = n
			})
		}
	}
	// Lower rates and plain knobs.
	if s.Workload.SendRatePerClient > 0.5 {
		add("half the send rate", func(c *scenarios.Scenario) { c.Workload.SendRatePerClient /= 2 })
	}
	if s.Workload.JoinLeave > 0 {
		add("joins and leaves", func(c *scenarios.Scenario) { c.Workload.JoinLeave = 0 })
	}
	if s.Workload.Reconnects > 0 {
		add("reconnects", func(c *scenarios.Scenario) { c.Workload.Reconnects = 0 })
	}
	if s.Workload.MessageBytes != 64 {
		add("message_bytes (default 64)", func(c *scenarios.Scenario) { c.Workload.MessageBytes = 64 })
	}
	t := s.Topology
	for _, knob := range []struct {
		name    string
		set     bool
		restore func(*scenarios.Topology)
	}{
		{"policy (default least-conn)", t.Policy != balance.LeastConnections, func(t *scenarios.Topology) { t.Policy = balance.LeastConnections }},
		{"redis_persistence (default none)", t.RedisPersistence != scenarios.PersistenceNone, func(t *scenarios.Topology) { t.RedisPersistence = scenarios.PersistenceNone }},
		{"recent_len_max (default)", t.RecentLenMax != node.RecentLenMaxDefault, func(t *scenarios.Topology) { t.RecentLenMax = node.RecentLenMaxDefault }},
		{"history_len_max (default)", t.HistoryLenMax != redisscript.HistoryLenMaxDefault, func(t *scenarios.Topology) { t.HistoryLenMax = redisscript.HistoryLenMaxDefault }},
		{"pubsub_break_every", t.PubSubBreakEvery != 0, func(t *scenarios.Topology) { t.PubSubBreakEvery = 0 }},
		{"pong_wait (default)", t.PongWait != 0, func(t *scenarios.Topology) { t.PongWait = 0 }},
		{"drain_timeout (default)", t.DrainTimeout != 0, func(t *scenarios.Topology) { t.DrainTimeout = 0 }},
		{"write_timeout (default)", t.WriteTimeout != 0, func(t *scenarios.Topology) { t.WriteTimeout = 0 }},
	} {
		if knob.set {
			restore := knob.restore
			add(knob.name, func(c *scenarios.Scenario) { restore(&c.Topology) })
		}
	}
	return out
}

// smaller lists the values below n worth trying, smallest first: low,
// then halfway points, then n-1.
func smaller(n, low int) []int {
	var out []int
	for _, v := range []int{low, n / 4, n / 2, n * 3 / 4, n - 1} {
		if v >= low && v < n && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

// shorter lists durations below d and at least low, in whole seconds,
// shortest first.
func shorter(d, low time.Duration) []time.Duration {
	low = low.Round(time.Second)
	var out []time.Duration
	for _, v := range []time.Duration{low, (low + d) / 2, d - time.Second} {
		v = v.Round(time.Second)
		if v >= low && v < d && v > 0 && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

// dropOrphans removes resumes and heals left with nothing to close once
// the faults that opened it are gone.
func dropOrphans(faults []scenarios.Fault) []scenarios.Fault {
	paused, cut := map[string]bool{}, false
	var out []scenarios.Fault
	for _, f := range faults {
		switch f.Action {
		case scenarios.Pause:
			paused[f.Target] = true
		case scenarios.Partition:
			cut = true
		case scenarios.Resume:
			if !paused[f.Target] {
				continue
			}
			delete(paused, f.Target)
		case scenarios.Heal:
			if !cut {
				continue
			}
		}
		out = append(out, f)
	}
	return out
}

func faultList(faults []scenarios.Fault) string {
	parts := make([]string, len(faults))
	for i, f := range faults {
		parts[i] = fmt.Sprintf("%s %s at %s", f.Action, f.Target, f.At)
		parts[i] = strings.ReplaceAll(parts[i], "  ", " ")
	}
	return strings.Join(parts, ", ")
}

// clone copies a scenario deeply enough for a reduction to change it.
func clone(s *scenarios.Scenario) *scenarios.Scenario {
	c := *s
	c.Topology.Nodes = slices.Clone(s.Topology.Nodes)
	c.Faults = slices.Clone(s.Faults)
	c.Expect.Hold = slices.Clone(s.Expect.Hold)
	c.Expect.Break = slices.Clone(s.Expect.Break)
	return &c
}

// Comment is the head comment of a shrunk scenario's file: where it came
// from, what was removed, and the command that replays it.
func (s *Shrunk) Comment(replay string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Shrunk: still fails %s with seed %d.\n", s.Check, s.Result.Seed)
	fmt.Fprintf(&b, "Before: %s\nAfter:  %s\n", s.Before, s.After)
	verdict := "a local minimum: every smaller step passed"
	if !s.Minimal {
		verdict = "stopped at the budget, not at a local minimum"
	}
	fmt.Fprintf(&b, "%d candidate runs in %s, %s.\n", s.Candidates, s.Wall.Round(100*time.Millisecond), verdict)
	if len(s.Removed) > 0 {
		b.WriteString("Removed:\n")
		for _, step := range s.Removed {
			fmt.Fprintf(&b, "  - %s\n", step)
		}
	}
	fmt.Fprintf(&b, "Replay: %s", replay)
	return b.String()
}
