// Package chaos runs scenarios against a target (the simulator, local
// processes or Docker containers), records every client operation and
// checks the history. One Cluster interface hides the target, so one
// runner, one set of checkers and one report serve all three.
package chaos

import (
	"context"
	"fmt"
	"time"

	"chatlab/chaos/check"
	"chatlab/system/balance"
	"chatlab/system/node"
)

// Cluster is one target's system under one scenario. The runner calls
// Start, then alternately RunUntil and Apply along the timeline, then
// Converge, then reads History and Samples, then Stop.
type Cluster interface {
	// Target names the target: "sim", "local" or "docker".
	Target() string
	// Start builds the topology and its workload: clients connect, join
	// and send on their own schedule from then on (time 0).
	Start(ctx context.Context) error
	// RunUntil lets the cluster run to t after Start: the simulator
	// advances virtual time, real targets wait.
	RunUntil(ctx context.Context, t time.Duration) error
	// Apply carries out one step of the fault timeline now.
	Apply(ctx context.Context, step Step) error
	// Converge heals whatever faults are still in force, lets the
	// workload's sends end, and waits until every client is connected, has
	// nothing unacked and has caught up every room, or until limit passes.
	// It reports whether they converged and, if not, what was left.
	Converge(ctx context.Context, limit time.Duration) (converged bool, detail string, err error)
	// Now is the time since Start on the cluster's clock.
	Now() time.Duration
	// History is every client event so far.
	History() check.History
	// Samples are the cluster's state over time, for the report's charts.
	Samples() []Sample
	// Decisions is the balancer's decision log on the run's clock, every
	// process of it in turn, each beginning with a start (nil without a
	// balancer).
	Decisions() []balance.Decision
	// TraceHash identifies a simulated run exactly ("" on real targets).
	TraceHash() string
	// Stop tears the cluster down.
	Stop() error
}

// RedisDescriber is a Cluster that says which Redis it runs, for the
// report: a real run against miniredis and one against redis-server are
// not the same evidence.
type RedisDescriber interface {
	RedisDescription() string
}

// Settler is a Cluster whose nodes and balancer are processes of their
// own (the real targets): it can let every client go and wait for the
// processes to let go of them, for the no-leak check.
type Settler interface {
	// Settle disconnects every client, waits until each process's
	// goroutines and descriptors are back within tolerance of its first
	// sample (or settleWaitMax passes), has each collect its garbage and
	// takes the settled samples that end Samples.
	Settle(ctx context.Context, tolerance check.LeakTolerance) error
}

// Leaver is a Cluster whose clients can all go at once, for the
// no-ghosts check: each closes its socket without a close frame (a real
// client's connection closes; a simulated one's resets), and the nodes'
// session counts are read until every node holds none or a while past
// within.
type Leaver interface {
	Leave(ctx context.Context, within time.Duration) (check.Leaving, error)
}

// RefusedError is a target declining a scenario or an option it cannot
// carry out (a fault it has no means for, a mutation of a binary it runs
// as built): the request is at fault, not the run, so the command exits 2
// as for any bad usage.
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return e.Reason }

// Refused returns a RefusedError with a formatted reason.
func Refused(format string, args ...any) error {
	return &RefusedError{Reason: fmt.Sprintf(format, args...)}
}

// Mutated is a Cluster whose nodes are broken on purpose (--mutation): the
// report says so, and only a run with the same mutation is its twin.
type Mutated interface {
	Mutation() node.Mutation
}

// Sample is the cluster's state at one moment.
type Sample struct {
	AtMs int64 `json:"at_ms"`
	// Connections per node, in node order.
	Connections map[string]int `json:"connections"`
	// Up per component (nodes, "balancer", "redis").
	Up map[string]bool `json:"up"`
	// Runtime are the figures of each node and balancer process that
	// answered (real targets only: the simulator's nodes are no processes).
	Runtime []check.RuntimeSample `json:"runtime,omitempty"`
}
