package scenarios

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// timelineEvent is a fault's start, or the end of its window.
type timelineEvent struct {
	at    time.Duration
	fault int
	end   bool
}

// timeline plays the faults in time order and refuses those that make no
// sense at their moment: resuming what is not paused, healing what is not
// partitioned, pausing or killing what is already paused or down. Those
// are mistakes in a file, and a run of them would test nothing.
func (p *parser) timeline(items []*yaml.Node, faults []Fault) error {
	events := make([]timelineEvent, 0, 2*len(faults))
	for i, fault := range faults {
		events = append(events, timelineEvent{at: fault.At, fault: i})
		if fault.Duration > 0 {
			events = append(events, timelineEvent{at: fault.End(), fault: i, end: true})
		}
	}
	// At one moment, windows close before new faults start: "partition
	// 5s to 10s" then "partition at 10s" is fine.
	slices.SortStableFunc(events, func(a, b timelineEvent) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		if a.end != b.end {
			if a.end {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.fault, b.fault)
	})
	state := timelineState{paused: map[string]int{}, partitioned: map[string]int{}, down: map[string]int{}, dropping: map[string]int{}, away: -1}
	for _, event := range events {
		if err := p.play(&state, items, faults, event); err != nil {
			return err
		}
	}
	return nil
}

// timelineState maps what is paused, partitioned or down to the index of
// the fault that did it.
type timelineState struct {
	paused      map[string]int
	partitioned map[string]int
	down        map[string]int
	// dropping maps a pubsub-drop's target (a node, or redis for every
	// node) to the fault whose window loses its pushes.
	dropping map[string]int
	// away is the away fault whose clients are off the network, or -1.
	away int
}

func (p *parser) play(state *timelineState, items []*yaml.Node, faults []Fault, event timelineEvent) error {
	fault, item := faults[event.fault], items[event.fault]
	if event.end {
		// A window closes only what its own fault opened: an explicit
		// resume or heal may have closed it already.
		owned := map[Action]map[string]int{Pause: state.paused, Partition: state.partitioned, Kill: state.down, Restart: state.down,
			PubSubDrop: state.dropping}[fault.Action]
		key := fault.Target
		if fault.Action == Partition {
			key = linkKey(fault.Link)
		}
		if owner, ok := owned[key]; ok && owner == event.fault {
			delete(owned, key)
		}
		if fault.Action == Away {
			state.away = -1
		}
		return nil
	}
	switch fault.Action {
	case Pause:
		if owner, ok := state.down[fault.Target]; ok {
			return p.errorf(item, "pause at %s: %s is down since line %d", fault.At, fault.Target, items[owner].Line)
		}
		if owner, ok := state.paused[fault.Target]; ok {
			return p.errorf(item, "pause at %s: %s is already paused since line %d", fault.At, fault.Target, items[owner].Line)
		}
		state.paused[fault.Target] = event.fault
	case Resume:
		if _, ok := state.paused[fault.Target]; !ok {
			return p.errorf(item, "resume at %s: %s is not paused then", fault.At, fault.Target)
		}
		delete(state.paused, fault.Target)
	case Kill:
		if owner, ok := state.down[fault.Target]; ok {
			return p.errorf(item, "kill at %s: %s is already down since line %d", fault.At, fault.Target, items[owner].Line)
		}
		delete(state.paused, fault.Target)
		state.down[fault.Target] = event.fault
	case Restart:
		delete(state.paused, fault.Target)
		delete(state.down, fault.Target)
		if fault.Duration > 0 {
			state.down[fault.Target] = event.fault
		}
	case Partition:
		key := linkKey(fault.Link)
		if owner, ok := state.partitioned[key]; ok {
			return p.errorf(item, "partition at %s: %s is already partitioned since line %d", fault.At, fault.Target, items[owner].Line)
		}
		state.partitioned[key] = event.fault
	case Away:
		// Away faults pick the same clients, the workload's last: while
		// one lasts, another would end it early or take them twice.
		if state.away >= 0 {
			return p.errorf(item, "away at %s: clients are away since line %d until %s; let that window end first", fault.At, items[state.away].Line, faults[state.away].End())
		}
		state.away = event.fault
	case PubSubDrop:
		// One loss rate a node at a time: a second window over the first
		// would end the first's early or be ended by it.
		for _, target := range slices.Sorted(maps.Keys(state.dropping)) {
			owner := state.dropping[target]
			if target == fault.Target || target == RedisName || fault.Target == RedisName {
				return p.errorf(item, "pubsub-drop at %s: pushes to %s are dropped already since line %d; let that window end first",
					fault.At, dropText(target), items[owner].Line)
			}
		}
		state.dropping[fault.Target] = event.fault
	case Heal:
		if fault.Target == "" {
			if len(state.partitioned) == 0 {
				return p.errorf(item, "heal at %s: nothing is partitioned then", fault.At)
			}
			clear(state.partitioned)
			return nil
		}
		key := linkKey(fault.Link)
		if _, ok := state.partitioned[key]; !ok {
			return p.errorf(item, "heal at %s: %s is not partitioned then", fault.At, fault.Target)
		}
		delete(state.partitioned, key)
	}
	return nil
}

// dropText names a pubsub-drop's target for messages.
func dropText(target string) string {
	if target == RedisName {
		return "every node"
	}
	return target
}

// linkKey names a link the same whichever order its ends are written in.
func linkKey(link [2]string) string {
	ends := []string{link[0], link[1]}
	slices.Sort(ends)
	return strings.Join(ends, "-")
}
