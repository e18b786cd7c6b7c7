package chaos

import "time"

// Phase is the part of a run under way.
type Phase string

// A run's phases, in order.
const (
	PhaseStarting   Phase = "starting"   // the cluster is being brought up
	PhaseRunning    Phase = "running"    // the workload and the fault timeline
	PhaseConverging Phase = "converging" // the liveness phase: clients catch up
	PhaseLeaving    Phase = "leaving"    // every client goes at once; the nodes let go of their sessions (no-ghosts)
	PhaseSettling   Phase = "settling"   // the clients leave; the processes let go of them (no-leak)
	PhaseChecking   Phase = "checking"   // the checkers read the history
)

// PhaseObserver is an Observer that also hears the run move from phase to
// phase (at: run time), for progress shown while a real run takes its
// time.
type PhaseObserver interface {
	Phase(phase Phase, at time.Duration)
}

// announce tells the run's observer, if it listens for phases, that phase
// begins.
func announce(options RunOptions, phase Phase, at time.Duration) {
	if o, ok := options.Observer.(PhaseObserver); ok {
		o.Phase(phase, at)
	}
}
