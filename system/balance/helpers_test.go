package balance

import (
	"math/rand/v2"
	"testing"
)

// threeBackends is the cluster most tests run: n1, n2, n3.
func threeBackends() []Backend {
	return []Backend{{Name: "n1", Addr: "127.0.0.1:9001"}, {Name: "n2", Addr: "127.0.0.1:9002"}, {Name: "n3", Addr: "127.0.0.1:9003"}}
}

func newBalancer(t *testing.T, config Config) *Balancer {
	t.Helper()
	if config.Backends == nil {
		config.Backends = threeBackends()
	}
	if config.NewConnectionsPerSecondMax == 0 {
		// Most tests are about placement, not the rate limit.
		config.NewConnectionsPerSecondMax = 1_000_000
	}
	b, err := New(config)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// harness plays the runtime: it numbers connections and opens what it picks.
type harness struct {
	t        *testing.T
	b        *Balancer
	nextConn ConnID
	backend  map[ConnID]string // where each open conn is
	user     map[ConnID]string
}

func newHarness(t *testing.T, config Config) *harness {
	return &harness{t: t, b: newBalancer(t, config), backend: map[ConnID]string{}, user: map[ConnID]string{}}
}

// connect picks and opens a connection for user; it fails the test on a refusal.
func (h *harness) connect(user string) ConnID {
	h.t.Helper()
	h.nextConn++
	conn := h.nextConn
	name, ok, refusal := h.b.Pick(conn, user)
	if !ok {
		h.t.Fatalf("pick for %q refused: %s", user, refusal)
	}
	h.b.Opened(conn)
	h.backend[conn] = name
	h.user[conn] = user
	return conn
}

func (h *harness) close(conn ConnID) {
	h.b.Closed(conn)
	delete(h.backend, conn)
	delete(h.user, conn)
}

// loads is the open connections per backend name, from the snapshot.
func (h *harness) loads() map[string]int {
	loads := map[string]int{}
	for _, backend := range h.b.Snapshot().Backends {
		loads[backend.Name] = backend.Connections
	}
	return loads
}

// failHealth takes a backend down with enough failed checks.
func (h *harness) failHealth(name string) {
	for range h.b.config.HealthDownAfter {
		h.b.HealthResult(name, false)
	}
}

func (h *harness) passHealth(name string) {
	for range h.b.config.HealthUpAfter {
		h.b.HealthResult(name, true)
	}
}

// reconnectShed plays clients that were shed: each reconnects at once as
// the same user. It returns the sheds.
func (h *harness) reconnectShed() []Shed {
	h.t.Helper()
	sheds := h.b.Ready().Sheds
	for _, shed := range sheds {
		if h.backend[shed.Conn] != shed.Backend {
			h.t.Fatalf("shed %+v, but conn is on %q", shed, h.backend[shed.Conn])
		}
		user := h.user[shed.Conn]
		h.close(shed.Conn)
		h.connect(user)
	}
	return sheds
}

func spread(loads map[string]int) (lowest, highest int) {
	first := true
	for _, load := range loads {
		if first || load < lowest {
			lowest = load
		}
		if first || load > highest {
			highest = load
		}
		first = false
	}
	return lowest, highest
}

func seeded(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed)) }
