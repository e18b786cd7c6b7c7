package balance

import (
	"fmt"
	"sort"
)

// Policy chooses the backend for a new connection.
type Policy string

// Policies (package doc, "Policies").
const (
	RoundRobin       Policy = "round-robin"
	LeastConnections Policy = "least-conn"
	HashUser         Policy = "hash-user"
)

// ParsePolicy checks a policy's name.
func ParsePolicy(name string) (Policy, bool) {
	switch Policy(name) {
	case RoundRobin, LeastConnections, HashUser:
		return Policy(name), true
	}
	return "", false
}

// Backend is one node behind the balancer. Name identifies it everywhere
// (metrics, state, hashing); Addr is where the runtime dials it.
type Backend struct {
	Name string `json:"name"`
	Addr string `json:"addr"`
}

// Config sets the balancer's backends, policy and limits. Zero values take
// the defaults below.
type Config struct {
	Backends []Backend
	Policy   Policy // default LeastConnections

	HealthIntervalMs int64 // how often each backend is checked (default 1000)
	HealthDownAfter  int   // consecutive failed checks that take a backend down (default 2)
	HealthUpAfter    int   // consecutive good checks that bring it back (default 2)
	DialDownAfter    int   // consecutive failed dials of its own that take a backend down (default 2)

	ConnectionsPerBackendMax   int // open plus pending connections per backend (default 10000)
	NewConnectionsPerSecondMax int // refill of the new-connection bucket (default 200)
	NewConnectionsBurst        int // size of that bucket (default 2 * NewConnectionsPerSecondMax)
	// The same per client address (AdmitSource): default a quarter of the
	// global rate, and a burst of twice it.
	NewConnectionsPerSourcePerSecondMax int
	NewConnectionsPerSourceBurst        int

	HashLoadFactor   float64 // the bound's c in ceil(c * average); must be > 1 (default 1.25)
	HashVirtualNodes int     // ring points per backend (default 160)

	Rebalance          bool    // shed from the fullest backends when one comes back
	RebalanceSpreadMax float64 // spread tolerated, as a fraction of the mean (default 0.2)
	ShedPerSecondMax   int     // sheds per second, drain and rebalance together (default 10)

	// Mutation breaks the balancer on purpose, for the lab only.
	Mutation Mutation
}

// Defaults, each with the reason for its size.
const (
	// One second between checks finds a dead backend within a couple of
	// seconds without loading healthy ones; a failed dial is faster still.
	healthIntervalMsDefault = 1000
	// Two in a row: one lost check does not flap a backend.
	healthDownAfterDefault = 2
	healthUpAfterDefault   = 2
	// Two failed dials in a row: one lost SYN does not take a backend out,
	// and the failing client retries elsewhere at once anyway.
	dialDownAfterDefault = 2
	// Far above what one node should carry; the operator sets the real cap.
	connectionsPerBackendMaxDefault = 10000
	// A dead node's clients come back over seconds, not in one burst.
	newConnectionsPerSecondMaxDefault = 200
	// 1.25 keeps every backend within 25% of the mean while most users
	// keep their home (Mirrokni, Thorup, Zadimoghaddam 2018).
	hashLoadFactorDefault = 1.25
	// 160 points per backend (as ketama) put each of a few backends within
	// about 5% of its fair share of the ring.
	hashVirtualNodesDefault   = 160
	rebalanceSpreadMaxDefault = 0.2
	// Ten reconnects a second per balancer is gentle on the nodes' catch-up.
	shedPerSecondMaxDefault = 10
)

// Limits on the configuration itself.
const (
	backendsMax         = 1024
	hashVirtualNodesMax = 1024
)

func (c Config) withDefaults() Config {
	if c.Policy == "" {
		c.Policy = LeastConnections
	}
	if c.HealthIntervalMs == 0 {
		c.HealthIntervalMs = healthIntervalMsDefault
	}
	if c.HealthDownAfter == 0 {
		c.HealthDownAfter = healthDownAfterDefault
	}
	if c.HealthUpAfter == 0 {
		c.HealthUpAfter = healthUpAfterDefault
	}
	if c.DialDownAfter == 0 {
		c.DialDownAfter = dialDownAfterDefault
	}
	if c.ConnectionsPerBackendMax == 0 {
		c.ConnectionsPerBackendMax = connectionsPerBackendMaxDefault
	}
	if c.NewConnectionsPerSecondMax == 0 {
		c.NewConnectionsPerSecondMax = newConnectionsPerSecondMaxDefault
	}
	if c.NewConnectionsBurst == 0 {
		c.NewConnectionsBurst = 2 * c.NewConnectionsPerSecondMax
	}
	if c.NewConnectionsPerSourcePerSecondMax == 0 {
		// One address may take a quarter of what every client shares.
		c.NewConnectionsPerSourcePerSecondMax = max(1, c.NewConnectionsPerSecondMax/4)
	}
	if c.NewConnectionsPerSourceBurst == 0 {
		c.NewConnectionsPerSourceBurst = 2 * c.NewConnectionsPerSourcePerSecondMax
	}
	if c.HashLoadFactor == 0 {
		c.HashLoadFactor = hashLoadFactorDefault
	}
	if c.HashVirtualNodes == 0 {
		c.HashVirtualNodes = hashVirtualNodesDefault
	}
	if c.RebalanceSpreadMax == 0 {
		c.RebalanceSpreadMax = rebalanceSpreadMaxDefault
	}
	if c.ShedPerSecondMax == 0 {
		c.ShedPerSecondMax = shedPerSecondMaxDefault
	}
	return c
}

func (c Config) validate() error {
	if len(c.Backends) == 0 {
		return fmt.Errorf("no backends")
	}
	if len(c.Backends) > backendsMax {
		return fmt.Errorf("%d backends, at most %d", len(c.Backends), backendsMax)
	}
	names := make([]string, 0, len(c.Backends))
	for _, backend := range c.Backends {
		if backend.Name == "" || backend.Addr == "" {
			return fmt.Errorf("backend %q: name and address are required", backend.Name)
		}
		names = append(names, backend.Name)
	}
	sort.Strings(names)
	for i := 1; i < len(names); i++ {
		if names[i] == names[i-1] {
			return fmt.Errorf("backend %q named twice", names[i])
		}
	}
	if _, ok := ParsePolicy(string(c.Policy)); !ok {
		return fmt.Errorf("unknown policy %q (round-robin, least-conn or hash-user)", c.Policy)
	}
	switch {
	case c.HealthIntervalMs < 0:
		return fmt.Errorf("health interval %d ms is negative", c.HealthIntervalMs)
	case c.HealthDownAfter < 0 || c.HealthUpAfter < 0 || c.DialDownAfter < 0:
		return fmt.Errorf("health thresholds must be positive")
	case c.ConnectionsPerBackendMax < 0:
		return fmt.Errorf("connections per backend %d is negative", c.ConnectionsPerBackendMax)
	case c.NewConnectionsPerSecondMax < 0 || c.NewConnectionsBurst < 0 ||
		c.NewConnectionsPerSourcePerSecondMax < 0 || c.NewConnectionsPerSourceBurst < 0:
		return fmt.Errorf("new connection rate must be positive")
	case c.HashLoadFactor <= 1:
		return fmt.Errorf("hash load factor %.2f must be above 1", c.HashLoadFactor)
	case c.HashVirtualNodes < 0 || c.HashVirtualNodes > hashVirtualNodesMax:
		return fmt.Errorf("hash virtual nodes %d not in 1..%d", c.HashVirtualNodes, hashVirtualNodesMax)
	case c.RebalanceSpreadMax < 0:
		return fmt.Errorf("rebalance spread %.2f is negative", c.RebalanceSpreadMax)
	case c.ShedPerSecondMax < 0:
		return fmt.Errorf("sheds per second %d is negative", c.ShedPerSecondMax)
	}
	return nil
}
