package dashboard

// Event is one thing the dashboard shows. The chaos runner (sim runs),
// the Watcher (a running cluster) and tests publish events into a Feed;
// browsers receive each as {"kind": ..., "data": ...} (see src/feed.ts).
// Times are milliseconds since the run or the watch began: virtual in a
// sim run, wall-clock when watching.
type Event interface {
	Kind() Kind
}

// Kind names an event's type on the wire.
type Kind string

// The kinds of event.
const (
	KindRun       Kind = "run"
	KindTopology  Kind = "topology"
	KindComponent Kind = "component"
	KindStats     Kind = "stats"
	KindFault     Kind = "fault"
	KindCheck     Kind = "check"
	KindLog       Kind = "log"
)

// Run says what is being shown. A Run with State running starts a new
// picture: the feed and the browsers forget the previous run's events.
type Run struct {
	Mode     RunMode  `json:"mode"`
	Scenario string   `json:"scenario,omitempty"`
	Target   string   `json:"target,omitempty"`
	Seed     uint64   `json:"seed,omitempty"`
	Delivery string   `json:"delivery,omitempty"`
	Pace     float64  `json:"pace,omitempty"` // 1: real time; 0: full speed
	State    RunState `json:"state"`
	Verdict  string   `json:"verdict,omitempty"` // pass|fail, once done
	Report   string   `json:"report,omitempty"`  // run id under reports/runs, once written
	// TMs is when the run ended, for a done run (the run's clock): a
	// browser that connects afterwards is sent it before the run's other
	// events and still places it last.
	TMs int64 `json:"t_ms,omitempty"`
}

// RunMode says where the events come from.
type RunMode string

// Run modes.
const (
	ModeSim    RunMode = "sim"    // a chaos run on the simulator
	ModeLocal  RunMode = "local"  // a chaos run on local processes
	ModeDocker RunMode = "docker" // a chaos run on Docker containers
	ModeWatch  RunMode = "watch"  // polling a cluster that is already running
)

// ModeOf is the mode of a chaos run on target (sim, local or docker); ok
// is false for a target the feed does not declare, which the browser's
// types (src/feed.ts) would not know either.
func ModeOf(target string) (mode RunMode, ok bool) {
	switch mode := RunMode(target); mode {
	case ModeSim, ModeLocal, ModeDocker:
		return mode, true
	}
	return "", false
}

// RunState is a run's progress.
type RunState string

// Run states.
const (
	RunRunning RunState = "running"
	RunDone    RunState = "done"
)

// Topology names the components: the cluster map draws the balancer on
// top, the nodes in a row, Redis below. An empty Balancer or Redis means
// there is none.
type Topology struct {
	Nodes    []string `json:"nodes"`
	Balancer string   `json:"balancer,omitempty"`
	Redis    string   `json:"redis,omitempty"`
}

// Component is one component's state, published when it changes.
// PartitionedFrom names the components it cannot reach (a node cut off
// from "redis", or from "balancer").
type Component struct {
	TMs             int64          `json:"t_ms"`
	Name            string         `json:"name"`
	State           ComponentState `json:"state"`
	PartitionedFrom []string       `json:"partitioned_from,omitempty"`
}

// ComponentState is a component's process state.
type ComponentState string

// Component states.
const (
	StateUp       ComponentState = "up"
	StateDown     ComponentState = "down"
	StatePaused   ComponentState = "paused"
	StateDraining ComponentState = "draining"
)

// Stats are one interval's figures, published about once a second.
// Connections maps each node to its open client connections.
type Stats struct {
	TMs            int64          `json:"t_ms"`
	SendsPerS      float64        `json:"sends_per_s"`
	DeliveriesPerS float64        `json:"deliveries_per_s"`
	Latency        *Latency       `json:"latency,omitempty"` // nil when not measured
	Connections    map[string]int `json:"connections"`
}

// Latency is the delivery latency over one interval: send to delivery.
type Latency struct {
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
}

// Fault is one fault of the timeline, published as it is applied.
// DurationMs, when set, is how long it lasts (charts draw it as a band).
type Fault struct {
	AtMs       int64  `json:"at_ms"`
	Action     string `json:"action"`
	Target     string `json:"target,omitempty"`
	DurationMs int64  `json:"duration_ms,omitempty"`
}

// Check is a checker's running verdict, published when it changes.
type Check struct {
	Name       string `json:"name"`
	OK         bool   `json:"ok"`
	Violations int    `json:"violations"`
	Detail     string `json:"detail,omitempty"`
	// Pending: not judged yet (OK means nothing): a check judged only once
	// the run is quiet or over.
	Pending bool `json:"pending,omitempty"`
}

// Log is one line for the event log.
type Log struct {
	TMs  int64  `json:"t_ms"`
	Text string `json:"text"`
}

// Kind implements Event.
func (Run) Kind() Kind { return KindRun }

// Kind implements Event.
func (Topology) Kind() Kind { return KindTopology }

// Kind implements Event.
func (Component) Kind() Kind { return KindComponent }

// Kind implements Event.
func (Stats) Kind() Kind { return KindStats }

// Kind implements Event.
func (Fault) Kind() Kind { return KindFault }

// Kind implements Event.
func (Check) Kind() Kind { return KindCheck }

// Kind implements Event.
func (Log) Kind() Kind { return KindLog }
