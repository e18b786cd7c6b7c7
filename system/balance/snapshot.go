package balance

// Snapshot is the balancer's state for /state and /metrics, backends in
// name order.
type Snapshot struct {
	Policy      Policy         `json:"policy"`
	Rebalance   bool           `json:"rebalance"`
	Rebalancing bool           `json:"rebalancing"`
	NowMs       int64          `json:"now_ms"`
	Backends    []BackendState `json:"backends"`
	Counters    Counters       `json:"counters"`
}

// BackendState is one backend's part of a Snapshot.
type BackendState struct {
	Name        string          `json:"name"`
	Addr        string          `json:"addr"`
	Up          bool            `json:"up"`
	Draining    bool            `json:"draining"`
	Connections int             `json:"connections"`
	Pending     int             `json:"pending"`
	Counters    BackendCounters `json:"counters"`
}

// BackendCounters count, since start, what happened to one backend.
type BackendCounters struct {
	Picks        uint64 `json:"picks"`
	DialFailures uint64 `json:"dial_failures"`
	Sheds        uint64 `json:"sheds"`
	WentDown     uint64 `json:"went_down"`
	CameUp       uint64 `json:"came_up"`
}

// Counters count, since start, the balancer's decisions.
type Counters struct {
	Picks              uint64 `json:"picks"`
	DialFailures       uint64 `json:"dial_failures"`
	Sheds              uint64 `json:"sheds"`
	RefusedNoBackend   uint64 `json:"refused_no_backend"`
	RefusedFull        uint64 `json:"refused_full"`
	RefusedRateLimited uint64 `json:"refused_rate_limited"`
	// RefusedSourceRateLimited counts refusals by AdmitSource.
	RefusedSourceRateLimited uint64 `json:"refused_source_rate_limited"`
}

// Snapshot returns the current state.
func (b *Balancer) Snapshot() Snapshot {
	snapshot := Snapshot{
		Policy:      b.config.Policy,
		Rebalance:   b.config.Rebalance,
		Rebalancing: b.rebalancing,
		NowMs:       b.nowMs,
		Backends:    make([]BackendState, len(b.backends)),
		Counters:    b.counters,
	}
	for i, backend := range b.backends {
		snapshot.Backends[i] = BackendState{
			Name:        backend.Name,
			Addr:        backend.Addr,
			Up:          backend.up,
			Draining:    backend.draining,
			Connections: len(backend.open),
			Pending:     backend.pending,
			Counters:    backend.counters,
		}
	}
	return snapshot
}
