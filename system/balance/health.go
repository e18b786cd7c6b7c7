package balance

// TransitionReason says why a backend changed health.
type TransitionReason string

// Transition reasons.
const (
	ReasonChecksFailed TransitionReason = "checks_failed" // HealthDownAfter failed checks in a row
	ReasonDialFailed   TransitionReason = "dial_failed"   // DialDownAfter dials to it failed in a row
	ReasonChecksPassed TransitionReason = "checks_passed" // HealthUpAfter good checks in a row
)

// Transition is one backend going down or coming up.
type Transition struct {
	Backend string           `json:"backend"`
	Up      bool             `json:"up"`
	Reason  TransitionReason `json:"reason"`
	AtMs    int64            `json:"at_ms"`
}

// HealthResult reports the answer to a health check of the named backend
// (a timeout is ok=false). A name the balancer does not know is ignored.
func (b *Balancer) HealthResult(name string, ok bool) {
	index, known := b.byName[name]
	if !known {
		return
	}
	backend := b.backends[index]
	backend.checkInFlight = false
	if ok {
		backend.failedChecks = 0
		backend.goodChecks++
		if !backend.up && backend.goodChecks >= b.config.HealthUpAfter {
			b.markUp(backend)
		}
		return
	}
	backend.goodChecks = 0
	backend.failedChecks++
	if backend.up && backend.failedChecks >= b.config.HealthDownAfter {
		b.markDown(backend, ReasonChecksFailed)
	}
}

// scheduleHealthChecks lists, every HealthIntervalMs, each backend without
// a check in flight.
func (b *Balancer) scheduleHealthChecks() {
	if b.nowMs < b.nextHealthMs {
		return
	}
	b.nextHealthMs = b.nowMs + b.config.HealthIntervalMs
	for _, backend := range b.backends {
		if backend.checkInFlight {
			continue
		}
		backend.checkInFlight = true
		b.ready.HealthChecks = append(b.ready.HealthChecks, backend.Name)
	}
}

func (b *Balancer) markDown(backend *backend, reason TransitionReason) {
	backend.goodChecks = 0
	if !backend.up {
		return
	}
	backend.up = false
	backend.counters.WentDown++
	b.ready.Transitions = append(b.ready.Transitions, Transition{Backend: backend.Name, Up: false, Reason: reason, AtMs: b.nowMs})
	b.decide(Decision{Kind: DecidedDown, Backend: backend.Name, Reason: string(reason)})
}

func (b *Balancer) markUp(backend *backend) {
	backend.up = true
	backend.failedChecks = 0
	backend.failedDials = 0
	backend.counters.CameUp++
	b.ready.Transitions = append(b.ready.Transitions, Transition{Backend: backend.Name, Up: true, Reason: ReasonChecksPassed, AtMs: b.nowMs})
	b.decide(Decision{Kind: DecidedUp, Backend: backend.Name, Reason: string(ReasonChecksPassed)})
	if !backend.draining {
		b.startRebalance()
	}
}
