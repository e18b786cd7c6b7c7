package dashboard

import "slices"

// The component names the Watcher uses besides the nodes'.
const (
	balancerName = "balancer"
	redisName    = "redis"
)

// nodeState is the part of a node's /state (system/server.State) the
// Watcher reads.
type nodeState struct {
	Node struct {
		Draining    bool `json:"draining"`
		Connections int  `json:"connections"`
		Counters    struct {
			Publishes  uint64 `json:"publishes"`
			Deliveries uint64 `json:"deliveries"`
		} `json:"counters"`
	} `json:"node"`
	Runtime struct {
		BrokerLinkUp bool `json:"broker_link_up"`
		Draining     bool `json:"draining"`
	} `json:"runtime"`
}

// balancerState is the part of the balancer's /state (system/proxy.State)
// the Watcher reads.
type balancerState struct {
	Balancer struct {
		Backends []struct {
			Name string `json:"name"`
			Up   bool   `json:"up"`
		} `json:"backends"`
	} `json:"balancer"`
	Runtime struct {
		Draining bool `json:"draining"`
	} `json:"runtime"`
}

// poll is one round of /state answers; OK is false for a component that
// did not answer.
type poll struct {
	TMs      int64
	Nodes    []nodePoll // in the watched order
	Balancer *balancerPoll
}

type nodePoll struct {
	Name  string
	OK    bool
	State nodeState
}

type balancerPoll struct {
	OK    bool
	State balancerState
}

// componentView is what was last published about one component.
type componentView struct {
	state           ComponentState
	partitionedFrom []string
}

// watchState turns rounds of polls into events: a component event when
// something changed, and one stats event per round. It does
// no I/O, so it is tested round by round.
type watchState struct {
	published map[string]componentView
	// The last round's counters, for rates.
	lastTMs      int64
	lastCounters map[string]nodeCounters
}

type nodeCounters struct {
	publishes  uint64
	deliveries uint64
}

func newWatchState() *watchState {
	return &watchState{published: map[string]componentView{}}
}

// observe returns the events one round of polls gives.
func (s *watchState) observe(p poll) []Event {
	var events []Event
	for _, view := range s.views(p) {
		events = append(events, s.changed(p.TMs, view.name, view.componentView)...)
	}
	return append(events, s.stats(p))
}

type namedView struct {
	name string
	componentView
}

// views is each component's state as this round shows it, nodes first,
// then the balancer, then Redis (when some node could tell).
func (s *watchState) views(p poll) []namedView {
	balancerSees := map[string]bool{}
	balancerUp := p.Balancer != nil && p.Balancer.OK
	if balancerUp {
		for _, backend := range p.Balancer.State.Balancer.Backends {
			balancerSees[backend.Name] = backend.Up
		}
	}
	var views []namedView
	linksUp, nodesUp := 0, 0
	for _, n := range p.Nodes {
		view := namedView{name: n.Name, componentView: componentView{state: StateDown}}
		if n.OK {
			nodesUp++
			view.state = StateUp
			if n.State.Runtime.Draining || n.State.Node.Draining {
				view.state = StateDraining
			}
			if n.State.Runtime.BrokerLinkUp {
				linksUp++
			} else {
				view.partitionedFrom = append(view.partitionedFrom, redisName)
			}
			// The node answers us but the balancer's health checks fail:
			// the link between them is cut.
			if up, known := balancerSees[n.Name]; known && !up {
				view.partitionedFrom = append(view.partitionedFrom, balancerName)
			}
		}
		views = append(views, view)
	}
	if p.Balancer != nil {
		view := namedView{name: balancerName, componentView: componentView{state: StateDown}}
		if balancerUp {
			view.state = StateUp
			if p.Balancer.State.Runtime.Draining {
				view.state = StateDraining
			}
		}
		views = append(views, view)
	}
	if nodesUp > 0 {
		view := namedView{name: redisName, componentView: componentView{state: StateUp}}
		if linksUp == 0 {
			// No node reaches it: as far as the cluster can tell, it is down.
			view.state = StateDown
		}
		views = append(views, view)
	}
	return views
}

// changed publishes a component's view when it differs from the last one
// (the page's event log says what changed).
func (s *watchState) changed(tMs int64, name string, view componentView) []Event {
	last, known := s.published[name]
	if known && last.state == view.state && slices.Equal(last.partitionedFrom, view.partitionedFrom) {
		return nil
	}
	s.published[name] = view
	return []Event{Component{TMs: tMs, Name: name, State: view.state, PartitionedFrom: view.partitionedFrom}}
}

// stats are the round's rates (from the counters' growth since the last
// round, over nodes that answered both times) and connections per node.
func (s *watchState) stats(p poll) Stats {
	stats := Stats{TMs: p.TMs, Connections: map[string]int{}}
	counters := map[string]nodeCounters{}
	var publishes, deliveries uint64
	for _, n := range p.Nodes {
		stats.Connections[n.Name] = 0
		if !n.OK {
			continue
		}
		stats.Connections[n.Name] = n.State.Node.Connections
		now := nodeCounters{publishes: n.State.Node.Counters.Publishes, deliveries: n.State.Node.Counters.Deliveries}
		counters[n.Name] = now
		if last, ok := s.lastCounters[n.Name]; ok {
			publishes += growth(last.publishes, now.publishes)
			deliveries += growth(last.deliveries, now.deliveries)
		}
	}
	if elapsedMs := p.TMs - s.lastTMs; s.lastCounters != nil && elapsedMs > 0 {
		stats.SendsPerS = float64(publishes) * 1000 / float64(elapsedMs)
		stats.DeliveriesPerS = float64(deliveries) * 1000 / float64(elapsedMs)
	}
	s.lastTMs, s.lastCounters = p.TMs, counters
	return stats
}

// growth is how much a counter grew; a counter that went back restarted
// with its process, so all of its value is new.
func growth(last, now uint64) uint64 {
	if now < last {
		return now
	}
	return now - last
}
