package sim

import (
	"math/rand/v2"
	"time"
)

// Range is a closed interval of durations.
type Range struct{ Min, Max time.Duration }

func (r Range) draw(random *rand.Rand) time.Duration {
	if r.Max <= r.Min {
		return r.Min
	}
	return r.Min + time.Duration(random.Int64N(int64(r.Max-r.Min)+1))
}

// Swarm varies a run from its seed within ranges the caller gives (swarm
// testing: each seed a different mix of latencies, fault timings and
// workload). Zero ranges leave the value as given.
type Swarm struct {
	Latency      Range
	Jitter       Range
	SendInterval Range
	// FaultShift moves each fault by up to this much either way (never
	// before time zero).
	FaultShift time.Duration
}

// swarmStream keeps the swarm's draws apart from the world's, which uses
// the same seed.
const swarmStream = 0x5741524d

// Vary draws one run's topology, workload and fault times from seed. The
// same seed gives the same draw; pass the seed on to NewCluster too.
func (s Swarm) Vary(seed uint64, topology Topology, workload Workload, faults []FaultRecord) (Topology, Workload, []FaultRecord) {
	random := rand.New(rand.NewPCG(seed, seed^swarmStream))
	if s.Latency.Max > 0 {
		topology.Link.Latency = s.Latency.draw(random)
	}
	if s.Jitter.Max > 0 {
		topology.Link.Jitter = s.Jitter.draw(random)
	}
	if s.SendInterval.Max > 0 {
		workload.SendInterval = s.SendInterval.draw(random)
	}
	varied := make([]FaultRecord, len(faults))
	for i, f := range faults {
		if s.FaultShift > 0 {
			f.At = max(0, f.At+Range{Min: -s.FaultShift, Max: s.FaultShift}.draw(random))
		}
		varied[i] = f
	}
	return topology, workload, varied
}
