package balance

import (
	"fmt"
	"sort"
)

// ConnID names one client connection attempt. The runtime chooses it and
// never reuses one while the balancer runs.
type ConnID uint64

// Refusal says why Pick found no backend.
type Refusal string

// Refusals.
const (
	// RefusedNoBackend: every backend is down or draining.
	RefusedNoBackend Refusal = "no_backend"
	// RefusedFull: every eligible backend is at ConnectionsPerBackendMax.
	RefusedFull Refusal = "full"
	// RefusedRateLimited: the new-connection bucket is empty; retry shortly.
	RefusedRateLimited Refusal = "rate_limited"
	// RefusedSourceRateLimited: the client's address opened its share of
	// new connections this second (AdmitSource); retry shortly.
	RefusedSourceRateLimited Refusal = "source_rate_limited"
)

// Balancer is the state machine. It is not safe for concurrent use: the
// runtime serializes inputs (one lock or one event loop).
type Balancer struct {
	config   Config
	backends []*backend // sorted by name; indexes are stable
	byName   map[string]int
	conns    map[ConnID]*connection
	ring     ring

	// cursor is where round-robin and least-connection ties resume.
	cursor int
	// avoid is the backend a retry Pick must not choose (unassigned: none).
	avoid int

	nowMs          int64
	nextHealthMs   int64
	newConnections bucket
	sources        map[string]*bucket // per client address, see AdmitSource
	sheds          bucket

	rebalancing bool
	// rebalanceShedsLeft bounds the current episode (package doc, "Shedding").
	rebalanceShedsLeft int

	counters Counters
	ready    Ready
}

type backend struct {
	Backend
	up            bool
	draining      bool
	failedChecks  int // consecutive
	failedDials   int // consecutive, reset by an accepted connection
	goodChecks    int // consecutive
	checkInFlight bool
	pending       int
	open          map[ConnID]string // conn -> user
	counters      BackendCounters
}

// load counts what the backend carries or is about to carry.
func (b *backend) load() int { return b.pending + len(b.open) }

type connection struct {
	backend int // index, or unassigned after a failed dial
	// failed is the backend whose dial failed, which the retry avoids
	// even while it is still up.
	failed int
	open   bool
	user   string
	picks  int
}

// picksPerConnectionMax: the first pick and one retry after a failed dial.
// A third would hold the client's handshake hostage to a failing cluster.
const picksPerConnectionMax = 2

const unassigned = -1

// New checks the configuration and returns a balancer with every backend
// up and nothing open.
func New(config Config) (*Balancer, error) {
	config = config.withDefaults()
	if err := config.validate(); err != nil {
		return nil, fmt.Errorf("balance: %w", err)
	}
	backends := append([]Backend(nil), config.Backends...)
	sort.Slice(backends, func(i, j int) bool { return backends[i].Name < backends[j].Name })
	b := &Balancer{
		config:         config,
		byName:         make(map[string]int, len(backends)),
		conns:          make(map[ConnID]*connection),
		avoid:          unassigned,
		sources:        map[string]*bucket{},
		newConnections: newBucket(config.NewConnectionsPerSecondMax, config.NewConnectionsBurst),
		sheds:          newBucket(config.ShedPerSecondMax, config.ShedPerSecondMax),
	}
	names := make([]string, len(backends))
	for i, spec := range backends {
		b.backends = append(b.backends, &backend{Backend: spec, up: true, open: make(map[ConnID]string)})
		b.byName[spec.Name] = i
		names[i] = spec.Name
	}
	b.ring = newRing(names, config.HashVirtualNodes)
	b.decide(Decision{Kind: DecidedStart, Policy: config.Policy, ConnectionsMax: config.ConnectionsPerBackendMax,
		HashLoadFactor: config.HashLoadFactor})
	return b, nil
}

// Backends lists the backends in name order.
func (b *Balancer) Backends() []Backend {
	list := make([]Backend, len(b.backends))
	for i, backend := range b.backends {
		list[i] = backend.Backend
	}
	return list
}

// Pick chooses a backend for conn and reserves a slot on it. After a
// DialFailed for the same conn it is the retry: no rate token is spent and
// the failed backend, now down, is not chosen again.
func (b *Balancer) Pick(conn ConnID, user string) (backendName string, ok bool, refusal Refusal) {
	existing := b.conns[conn]
	if existing != nil && (existing.backend != unassigned || existing.picks >= picksPerConnectionMax) {
		panic(fmt.Sprintf("balance: Pick for conn %d that has a backend or no retry left", conn))
	}
	if existing == nil && !b.newConnections.take() {
		b.counters.RefusedRateLimited++
		return "", false, RefusedRateLimited
	}
	b.avoid = unassigned
	if existing != nil {
		b.avoid = existing.failed
	}
	states, cursor, avoid := b.pickStates(), b.cursor, ""
	if b.avoid != unassigned {
		avoid = b.backends[b.avoid].Name
	}
	chosen, refusal := b.choose(user)
	b.avoid = unassigned
	if chosen == unassigned {
		delete(b.conns, conn)
		switch refusal {
		case RefusedNoBackend:
			b.counters.RefusedNoBackend++
		case RefusedFull:
			b.counters.RefusedFull++
		}
		return "", false, refusal
	}
	if existing == nil {
		existing = &connection{user: user, failed: unassigned}
		b.conns[conn] = existing
	}
	existing.picks++
	existing.backend = chosen
	backend := b.backends[chosen]
	backend.pending++
	backend.counters.Picks++
	b.counters.Picks++
	b.decide(Decision{Kind: DecidedPick, Backend: backend.Name, Conn: conn, User: user, Up: backend.up, Draining: backend.draining,
		Backends: states, Cursor: cursor, Avoid: avoid})
	return backend.Name, true, ""
}

// Opened reports that the backend picked for conn accepted it.
func (b *Balancer) Opened(conn ConnID) {
	c := b.conns[conn]
	if c == nil || c.backend == unassigned || c.open {
		panic(fmt.Sprintf("balance: Opened for conn %d that is not pending", conn))
	}
	backend := b.backends[c.backend]
	backend.pending--
	backend.open[conn] = c.user
	backend.failedDials = 0
	c.open = true
}

// DialFailed reports that the backend picked for conn could not be reached
// (or refused the upgrade as overloaded). After DialDownAfter such failures
// in a row the backend goes down; conn waits for its retry Pick, which
// avoids this backend, or its Closed. A dial the client abandoned (its
// request cancelled) says nothing about the backend: report Closed instead.
func (b *Balancer) DialFailed(conn ConnID) {
	c := b.conns[conn]
	if c == nil || c.backend == unassigned || c.open {
		panic(fmt.Sprintf("balance: DialFailed for conn %d that is not pending", conn))
	}
	backend := b.backends[c.backend]
	backend.pending--
	backend.counters.DialFailures++
	b.counters.DialFailures++
	c.failed = c.backend
	c.backend = unassigned
	backend.failedDials++
	if backend.failedDials >= b.config.DialDownAfter {
		b.markDown(backend, ReasonDialFailed)
	}
}

// Closed reports that conn is over, whatever state it was in. A conn the
// balancer does not know (already shed) is ignored.
func (b *Balancer) Closed(conn ConnID) {
	c := b.conns[conn]
	if c == nil {
		return
	}
	delete(b.conns, conn)
	if c.backend == unassigned {
		return
	}
	backend := b.backends[c.backend]
	if c.open {
		delete(backend.open, conn)
	} else {
		backend.pending--
	}
}

// Drain takes a backend out of rotation: no new connections, and its open
// ones are shed at the shed rate. It reports whether the backend exists.
func (b *Balancer) Drain(name string) bool {
	index, ok := b.byName[name]
	if !ok {
		return false
	}
	b.backends[index].draining = true
	b.decide(Decision{Kind: DecidedDrain, Backend: name})
	return true
}

// Undrain puts a drained backend back into rotation (and, with Rebalance,
// starts moving connections back to it). It reports whether the backend
// exists.
func (b *Balancer) Undrain(name string) bool {
	index, ok := b.byName[name]
	if !ok {
		return false
	}
	backend := b.backends[index]
	b.decide(Decision{Kind: DecidedUndrain, Backend: name})
	if backend.draining {
		backend.draining = false
		if backend.up {
			b.startRebalance()
		}
	}
	return true
}

// Tick advances the clock: it refills the buckets, schedules health checks
// and sheds. The clock must not go backwards; a repeated time is fine.
func (b *Balancer) Tick(nowMs int64) {
	if nowMs < b.nowMs {
		panic(fmt.Sprintf("balance: clock went back from %d to %d ms", b.nowMs, nowMs))
	}
	b.nowMs = nowMs
	b.newConnections.refill(nowMs)
	b.sheds.refill(nowMs)
	b.pruneSources()
	b.scheduleHealthChecks()
	b.shedDraining()
	b.rebalance()
}

// Ready returns everything to do since the last call and clears it.
func (b *Balancer) Ready() Ready {
	ready := b.ready
	b.ready = Ready{}
	return ready
}

// eligible reports whether a backend may take a new connection.
func (b *Balancer) eligible(index int) bool {
	backend := b.backends[index]
	up := backend.up || b.config.Mutation == MutationIgnoreHealth
	return index != b.avoid && up && !backend.draining && backend.load() < b.config.ConnectionsPerBackendMax
}

// refusalNow says why no backend is eligible: full if some backend is up
// and in rotation (so only the cap stands in the way), else no backend.
func (b *Balancer) refusalNow() Refusal {
	for _, backend := range b.backends {
		if backend.up && !backend.draining {
			return RefusedFull
		}
	}
	return RefusedNoBackend
}
