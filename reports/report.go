// Package reports renders the result of a chaos run: reports/runs/<run-id>/
// holds report.json (the schema docs/DESIGN.md promises to users' CI),
// index.html (one self-contained page for people), junit.xml (one test
// case per check, for CI dashboards) and history.jsonl (the client history
// the checkers read). reports/index.html lists every run.
//
// The types here are the report's own: the chaos package converts its
// checks and stats into them, so that reports depends on nothing of the
// lab's.
package reports

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// Verdict is a run's outcome.
type Verdict string

// Verdicts.
const (
	Pass Verdict = "pass" // every check met its expectation
	Fail Verdict = "fail" // at least one did not
)

// Report is one run. The JSON names are a contract (docs/DESIGN.md, "report.json"): add
// fields, never rename one. Every *_ms time (faults, windows, series) is
// milliseconds from the start of the run, on the run's clock: virtual for
// the simulator, wall for the real targets.
type Report struct {
	Scenario    string  `json:"scenario"`
	Description string  `json:"description,omitempty"`
	Target      string  `json:"target"`
	Seed        uint64  `json:"seed"`
	Delivery    string  `json:"delivery"`
	Verdict     Verdict `json:"verdict"`
	Checks      []Check `json:"checks"`
	Stats       Stats   `json:"stats"`
	Faults      []Fault `json:"faults"`
	// TraceHash identifies the simulator's event trace (hex): the same
	// seed must give the same hash. Empty on the real targets.
	TraceHash string `json:"trace_hash,omitempty"`
	// Redis says which Redis a real run used ("redis-server 7.0.15",
	// "miniredis v2.40.0 (embedded; ...)"); empty on sim.
	Redis string `json:"redis,omitempty"`
	// Mutation is how every node was broken on purpose (--mutation drop,
	// ...); empty for the system as built.
	Mutation string `json:"mutation,omitempty"`
	// ScenarioHash identifies what the scenario made happen (its parsed
	// content with defaults, not its file's bytes): a run is only compared
	// with another of the same hash.
	ScenarioHash string `json:"scenario_hash,omitempty"`
	// WallMs is how long the run took on the wall clock.
	WallMs int64 `json:"wall_ms"`

	// RunID names the run's directory; Write makes one up when empty.
	RunID string `json:"run_id"`
	// StartedAt is the wall-clock start; Write uses the current time when
	// zero.
	StartedAt time.Time `json:"started_at"`
	// Command replays the run exactly, e.g. "bin/chatlab chaos --scenario
	// node-restart --target sim --seed 7".
	Command      string       `json:"command"`
	Expectations Expectations `json:"expectations"`
	// Series is the run cut into equal time buckets, in time order.
	Series []Bucket `json:"series"`
	// FaultWindows are the spans during which a fault was in force; the
	// charts shade them.
	FaultWindows []Window `json:"fault_windows"`
	// ComparedWith is the simulator's run of the same scenario content,
	// seed, delivery and mutation, for a run on a real target (Write finds
	// the newest one in the reports directory; none: omitted).
	ComparedWith *Comparison `json:"compared_with,omitempty"`
	// Porcupine is the linearizability visualization: give the path of the
	// file porcupine wrote; Write copies it into the run directory and
	// sets this to its name there.
	Porcupine string `json:"porcupine,omitempty"`
	// Runtime are the node and balancer processes' runtime figures over
	// the run, about once a second (real targets; none on sim), in time
	// order: what the no-leak check judges and the page charts.
	Runtime []RuntimeSample `json:"runtime"`
	// ShrunkFrom is set on the run of a shrunk scenario (chatlab chaos
	// --shrink, chatlab hunt): what it was shrunk from and how.
	ShrunkFrom *ShrunkFrom `json:"shrunk_from,omitempty"`
}

// ShrunkFrom says how a scenario was shrunk to the one this run ran: the
// check it still fails, the sizes before and after, the steps taken.
type ShrunkFrom struct {
	Check  string       `json:"check"`
	Before ScenarioSize `json:"before"`
	After  ScenarioSize `json:"after"`
	// Removed lists what was taken away or made plainer, a step each.
	Removed []string `json:"removed"`
	// Candidates is how many runs the shrink tried; Minimal whether it
	// ended at a local minimum (every smaller step passed) rather than at
	// its budget.
	Candidates int   `json:"candidates"`
	Minimal    bool  `json:"minimal"`
	WallMs     int64 `json:"wall_ms"`
}

// ScenarioSize is how big a scenario is.
type ScenarioSize struct {
	Nodes      int   `json:"nodes"`
	Clients    int   `json:"clients"`
	Rooms      int   `json:"rooms"`
	Faults     int   `json:"faults"`
	DurationMs int64 `json:"duration_ms"`
	// Sends is clients × send rate × duration.
	Sends int `json:"sends"`
}

// Check is one property checked on the run. OK says whether the run met
// the expectation: for a property that must break, OK means it was seen
// to break.
type Check struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	// Expect is "hold" or "break" (or empty for a check that is not a
	// property, like a latency bound).
	Expect     string    `json:"expect,omitempty"`
	Violations int       `json:"violations"`
	Detail     string    `json:"detail"`
	Examples   []Example `json:"examples,omitempty"`
}

// Example is one violation and the operations that show it.
type Example struct {
	Message    string      `json:"message"`
	Operations []Operation `json:"operations,omitempty"`
}

// Operation is one recorded client event involved in a violation.
type Operation struct {
	AtMs   int64  `json:"at_ms"`
	Client string `json:"client"`
	Kind   string `json:"kind"`
	Room   string `json:"room,omitempty"`
	Seq    uint64 `json:"seq,omitempty"`
	ID     string `json:"id,omitempty"`
	Node   string `json:"node,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Stats counts the run's messages. Excused are losses a reset announced
// (history that is gone is said, not skipped).
type Stats struct {
	Sent       int64   `json:"sent"`
	Acked      int64   `json:"acked"`
	Delivered  int64   `json:"delivered"`
	Lost       int64   `json:"lost"`
	Duplicated int64   `json:"duplicated"`
	Reordered  int64   `json:"reordered"`
	Excused    int64   `json:"excused"`
	LatencyMs  Latency `json:"latency_ms"`
}

// Latency is delivery latency (send to delivery) in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Fault is one fault as it was applied.
type Fault struct {
	AtMs   int64  `json:"at_ms"`
	Action string `json:"action"`
	Target string `json:"target"`
}

// Expectations are the scenario's, as the run was judged by them.
type Expectations struct {
	Hold             []string `json:"hold"`
	Break            []string `json:"break"`
	LatencyP99MaxMs  int64    `json:"latency_p99_max_ms,omitempty"`
	ConvergeWithinMs int64    `json:"converge_within_ms,omitempty"`
}

// Bucket is one time slice of the run, starting at AtMs.
type Bucket struct {
	AtMs                int64   `json:"at_ms"`
	SendsPerSecond      float64 `json:"sends_per_second"`
	DeliveriesPerSecond float64 `json:"deliveries_per_second"`
	LatencyP50Ms        float64 `json:"latency_p50_ms"`
	LatencyP99Ms        float64 `json:"latency_p99_ms"`
	// Connections per node at the bucket's start (JSON sorts the keys).
	Connections map[string]int `json:"connections"`
}

// RuntimeSample is one node's or the balancer's process figures at one
// moment, from its admin listener's /metrics.
type RuntimeSample struct {
	AtMs   int64  `json:"at_ms"`
	Member string `json:"member"`
	// StartedMs is the process's start on the run's clock: a new value
	// for a member is a restart.
	StartedMs  int64 `json:"started_ms"`
	Goroutines int   `json:"goroutines"`
	// HeapBytes is the heap in use (go_memstats_heap_inuse_bytes).
	HeapBytes int64 `json:"heap_bytes"`
	OpenFDs   int   `json:"open_fds"`
	// Settled marks a sample taken after the clients left, just after a
	// garbage collection: what the no-leak check compares with the
	// process's first sample.
	Settled bool `json:"settled,omitempty"`
}

// Window is a span of the run, [FromMs, ToMs), labelled.
type Window struct {
	FromMs int64  `json:"from_ms"`
	ToMs   int64  `json:"to_ms"`
	Label  string `json:"label"`
}

// VerdictOf is the verdict the checks give: pass when every one is OK.
func VerdictOf(checks []Check) Verdict {
	for _, check := range checks {
		if !check.OK {
			return Fail
		}
	}
	return Pass
}

// validate refuses a report that would mislead: a verdict that disagrees
// with its checks, or one missing what names the run.
func (r *Report) validate() error {
	switch {
	case r.Scenario == "":
		return fmt.Errorf("reports: the report names no scenario")
	case r.Target == "":
		return fmt.Errorf("reports: the report names no target")
	case r.Verdict != Pass && r.Verdict != Fail:
		return fmt.Errorf("reports: verdict %q: want %q or %q", r.Verdict, Pass, Fail)
	case len(r.Checks) == 0:
		return fmt.Errorf("reports: the report has no checks: a run that checked nothing proves nothing")
	case r.Verdict != VerdictOf(r.Checks):
		return fmt.Errorf("reports: verdict %q disagrees with the checks, which give %q", r.Verdict, VerdictOf(r.Checks))
	}
	for _, window := range r.FaultWindows {
		if window.ToMs < window.FromMs {
			return fmt.Errorf("reports: fault window %q ends at %d ms before it starts at %d ms", window.Label, window.ToMs, window.FromMs)
		}
	}
	return nil
}

// normalized returns a copy whose lists are empty rather than nil, so
// that report.json always has every field of the schema.
func (r *Report) normalized() *Report {
	copied := *r
	if copied.Checks == nil {
		copied.Checks = []Check{}
	}
	if copied.Faults == nil {
		copied.Faults = []Fault{}
	}
	if copied.Series == nil {
		copied.Series = []Bucket{}
	}
	if copied.Runtime == nil {
		copied.Runtime = []RuntimeSample{}
	}
	if copied.FaultWindows == nil {
		copied.FaultWindows = []Window{}
	}
	if copied.Expectations.Hold == nil {
		copied.Expectations.Hold = []string{}
	}
	if copied.Expectations.Break == nil {
		copied.Expectations.Break = []string{}
	}
	return &copied
}

// Read reads a report.json.
func Read(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}
