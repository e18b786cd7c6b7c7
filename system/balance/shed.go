package balance

import "sort"

// ShedReason says why a connection is shed.
type ShedReason string

// Shed reasons.
const (
	ShedDrain     ShedReason = "drain"
	ShedRebalance ShedReason = "rebalance"
)

// Shed asks the runtime to close a client connection with
// protocol.CloseReconnect. The balancer already counts it as gone.
type Shed struct {
	Conn    ConnID     `json:"conn"`
	Backend string     `json:"backend"`
	Reason  ShedReason `json:"reason"`
}

// shedDraining sheds the newest connections of draining backends, in name
// order, while the shed budget lasts.
func (b *Balancer) shedDraining() {
	for index, backend := range b.backends {
		if !backend.draining {
			continue
		}
		// Each pass spends a token or ends the backend's turn: bounded by the budget.
		for len(backend.open) > 0 && b.sheds.tokens() > 0 {
			conn, _ := newestConnection(backend, func(ConnID, string) bool { return true })
			b.shed(index, conn, ShedDrain)
		}
	}
}

// startRebalance begins an episode, bounded by the excess above the mean at
// this moment: more sheds than that could only move connections in circles.
func (b *Balancer) startRebalance() {
	if !b.config.Rebalance {
		return
	}
	loads, total := b.rotationLoads()
	if len(loads) < 2 {
		return
	}
	ceilingMean := (total + len(loads) - 1) / len(loads)
	excess := 0
	for _, load := range loads {
		excess += max(0, load.load-ceilingMean)
	}
	b.rebalancing = true
	b.rebalanceShedsLeft = excess
}

// rebalance sheds from the fullest backends while the episode lasts and
// the shed budget allows; an episode that finds nothing more to do ends.
func (b *Balancer) rebalance() {
	// Each pass sheds one connection, spending a token, or ends the episode.
	for b.rebalancing && b.sheds.tokens() > 0 {
		if !b.rebalanceStep() {
			b.rebalancing = false
			b.rebalanceShedsLeft = 0
		}
	}
}

// rebalanceStep sheds one connection if the spread is over
// RebalanceSpreadMax of the mean, a move can narrow it and the episode has
// allowance left; otherwise it returns false.
func (b *Balancer) rebalanceStep() bool {
	if b.rebalanceShedsLeft == 0 {
		return false
	}
	loads, total := b.rotationLoads()
	if len(loads) < 2 {
		return false
	}
	spread := loads[0].load - loads[len(loads)-1].load
	mean := float64(total) / float64(len(loads))
	// A spread of one cannot narrow: the moved connection would make
	// another spread of one.
	if spread < 2 || float64(spread) <= b.config.RebalanceSpreadMax*mean {
		return false
	}
	index, conn, found := b.rebalanceCandidate(loads, mean)
	if !found {
		return false
	}
	b.shed(index, conn, ShedRebalance)
	b.rebalanceShedsLeft--
	return true
}

// rebalanceCandidate finds, fullest backend first among those above the
// mean, the newest connection worth moving: under HashUser only a user whose
// home is elsewhere, since any other would hash straight back.
func (b *Balancer) rebalanceCandidate(loads []backendLoad, mean float64) (int, ConnID, bool) {
	for _, load := range loads {
		if float64(load.load) <= mean {
			break
		}
		backend := b.backends[load.index]
		movable := func(ConnID, string) bool { return true }
		if b.config.Policy == HashUser {
			movable = func(_ ConnID, user string) bool { return b.home(user) != load.index }
		}
		if conn, ok := newestConnection(backend, movable); ok {
			return load.index, conn, true
		}
	}
	return 0, 0, false
}

type backendLoad struct {
	index int
	load  int
}

// rotationLoads lists the backends in rotation (up, not draining), fullest
// first (ties by name), and their total load.
func (b *Balancer) rotationLoads() ([]backendLoad, int) {
	var loads []backendLoad
	total := 0
	for index, backend := range b.backends {
		if backend.up && !backend.draining {
			loads = append(loads, backendLoad{index: index, load: backend.load()})
			total += backend.load()
		}
	}
	sort.SliceStable(loads, func(i, j int) bool { return loads[i].load > loads[j].load })
	return loads, total
}

func (b *Balancer) shed(index int, conn ConnID, reason ShedReason) {
	if !b.sheds.take() {
		panic("balance: shed without a token")
	}
	backend := b.backends[index]
	user := backend.open[conn]
	delete(backend.open, conn)
	delete(b.conns, conn)
	backend.counters.Sheds++
	b.counters.Sheds++
	b.ready.Sheds = append(b.ready.Sheds, Shed{Conn: conn, Backend: backend.Name, Reason: reason})
	b.decide(Decision{Kind: DecidedShed, Backend: backend.Name, Conn: conn, User: user, Reason: string(reason)})
}

// newestConnection is the open connection with the highest id that passes
// filter, if any: by id, not map order, so that runs repeat.
func newestConnection(backend *backend, filter func(ConnID, string) bool) (ConnID, bool) {
	var newest ConnID
	found := false
	for conn, user := range backend.open { // map order: the maximum id is the same in any order
		if (!found || conn > newest) && filter(conn, user) {
			newest, found = conn, true
		}
	}
	return newest, found
}
