package balance

// Mutation deliberately breaks the balancer in one known way, so that the
// lab can show its balancer check catching the bug it exists for. It is for
// tests and mutation runs only; a real deployment never sets it.
type Mutation string

// Mutations.
const (
	MutationNone Mutation = ""
	// MutationIgnoreHealth picks backends the balancer knows are down.
	MutationIgnoreHealth Mutation = "ignore-health"
	// MutationIgnoreSourceLimit admits every client address at once: one
	// address may spend the new-connection allowance every client shares.
	MutationIgnoreSourceLimit Mutation = "ignore-source-limit"
)

// DecisionKind names one entry of the balancer's decision log.
type DecisionKind string

// Decision kinds. The values are stable: they appear in recorded histories.
const (
	DecidedStart   DecisionKind = "start"   // the balancer started: every backend up, none draining
	DecidedPick    DecisionKind = "pick"    // a new connection (or its retry) went to Backend
	DecidedDown    DecisionKind = "down"    // Backend went down (Reason says why)
	DecidedUp      DecisionKind = "up"      // Backend came up
	DecidedDrain   DecisionKind = "drain"   // an operator took Backend out of rotation
	DecidedUndrain DecisionKind = "undrain" // an operator put Backend back into rotation
	DecidedShed    DecisionKind = "shed"    // Conn on Backend is to be closed (Reason says why)
)

// Decision is one entry of the balancer's decision log, in the order the
// balancer took them: what it did and, for a pick, the chosen backend's
// state as the balancer held it at that moment. The log lets an observer
// that sees nothing else (the lab's checks) replay the backends' states and
// hold every pick against them.
type Decision struct {
	Kind    DecisionKind `json:"kind"`
	AtMs    int64        `json:"at_ms"`
	Backend string       `json:"backend"`
	Conn    ConnID       `json:"conn,omitempty"`
	User    string       `json:"user,omitempty"`
	// Up and Draining are the backend's state when it was picked.
	Up       bool   `json:"up,omitempty"`
	Draining bool   `json:"draining,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// Policy, ConnectionsMax and HashLoadFactor (start) are the
	// configuration every pick of the process follows.
	Policy         Policy  `json:"policy,omitempty"`
	ConnectionsMax int     `json:"connections_max,omitempty"`
	HashLoadFactor float64 `json:"hash_load_factor,omitempty"`
	// Backends (pick) is every backend's state just before the pick, in
	// the balancer's order (by name); Cursor is the index where
	// round-robin and least-connection ties start looking; Avoid is the
	// backend a retry must not choose (its failed dial). With them an
	// observer can tell which backend the policy had to choose.
	Backends []PickState `json:"backends,omitempty"`
	Cursor   int         `json:"cursor,omitempty"`
	Avoid    string      `json:"avoid,omitempty"`
}

// PickState is one backend as the balancer held it at a pick: its
// load (connections open and pending) and its health and rotation.
type PickState struct {
	Name     string `json:"name"`
	Load     int    `json:"load"`
	Up       bool   `json:"up,omitempty"`
	Draining bool   `json:"draining,omitempty"`
}

// pickStates is every backend's state, for a pick's decision.
func (b *Balancer) pickStates() []PickState {
	states := make([]PickState, len(b.backends))
	for i, backend := range b.backends {
		states[i] = PickState{Name: backend.Name, Load: backend.load(), Up: backend.up, Draining: backend.draining}
	}
	return states
}

// decide appends to the decision log of the next Ready.
func (b *Balancer) decide(d Decision) {
	d.AtMs = b.nowMs
	b.ready.Decisions = append(b.ready.Decisions, d)
}
