package check

import (
	"fmt"
	"sort"
	"strings"
)

// CheckNoGhosts: once every client has gone, every node lets go of every
// session within GhostsWithinMs.
const CheckNoGhosts = "no-ghosts"

// GhostsWithinDefault is how long after the clients went a node may still
// hold sessions of theirs. A client that vanishes closes its socket; the
// balancer relays that to the node as a close ("client gone") and the node
// ends the session on reading it, within milliseconds. A node keeps a
// session longer only when nothing tells it its client is gone (a proxy
// that keeps the backend link open, a node that misses the close): then
// only its keepalive (a ping unanswered for the pong wait, or a write to
// the dead link failing) ends the ghost, seconds to a minute later.
const GhostsWithinDefault int64 = 3000

// SessionReading is one node's session count (its /state's connections,
// the simulated node's snapshot) at AtMs on the run's clock.
type SessionReading struct {
	AtMs     int64  `json:"at_ms"`
	Node     string `json:"node"`
	Sessions int    `json:"sessions"`
}

// Leaving is what the lab saw after every client went at once, at LeftMs:
// each closed its socket without a close frame, as a phone that loses its
// network or a process that exits does. Readings are the nodes' session
// counts from then on, in time order, until every node held none or a
// while past WithinMs.
type Leaving struct {
	LeftMs   int64            `json:"left_ms"`
	WithinMs int64            `json:"within_ms"`
	Readings []SessionReading `json:"readings"`
}

// JudgeGhosts holds every node read after the clients left to holding no
// session within WithinMs of their leaving: a session that outlives its
// client that long is a ghost (its node goes on delivering to it, counts
// it against its limits, and the balancer against the node's load). A node
// never read (down when the clients left) is not judged; a leaving with no
// reading fails, for it judged nothing.
func JudgeGhosts(l Leaving) Check {
	v := newVerdict(CheckNoGhosts)
	within := l.WithinMs
	if within <= 0 {
		within = GhostsWithinDefault
	}
	type nodeReadings struct {
		clearedMs int64 // first reading with no session; -1 while none
		last      SessionReading
		peak      int
	}
	nodes := map[string]*nodeReadings{}
	readings := append([]SessionReading(nil), l.Readings...)
	sort.SliceStable(readings, func(i, j int) bool { return readings[i].AtMs < readings[j].AtMs })
	for _, r := range readings {
		if r.AtMs < l.LeftMs {
			continue
		}
		n := nodes[r.Node]
		if n == nil {
			n = &nodeReadings{clearedMs: -1}
			nodes[r.Node] = n
		}
		n.last, n.peak = r, max(n.peak, r.Sessions)
		if r.Sessions == 0 && n.clearedMs < 0 {
			n.clearedMs = r.AtMs
		}
	}
	if len(nodes) == 0 {
		v.add(Violation{Kind: "nothing_read", AtMs: l.LeftMs,
			Message: "no node's sessions were read after the clients left: nothing to judge"})
		return v.done("no node read after the clients left")
	}
	names := make([]string, 0, len(nodes))
	for name := range nodes {
		names = append(names, name)
	}
	sort.Strings(names)
	var cleared []string
	for _, name := range names {
		n := nodes[name]
		switch {
		case n.clearedMs >= 0 && n.clearedMs-l.LeftMs <= within:
			cleared = append(cleared, fmt.Sprintf("%s in %d ms", name, n.clearedMs-l.LeftMs))
		case n.clearedMs >= 0:
			v.add(Violation{Kind: "ghost_sessions", AtMs: n.clearedMs,
				Message: fmt.Sprintf("%s held sessions (up to %d) for %d ms after every client had gone, over the %d ms allowed: ghosts of clients that left",
					name, n.peak, n.clearedMs-l.LeftMs, within)})
		case n.last.AtMs-l.LeftMs >= within:
			v.add(Violation{Kind: "ghost_sessions", AtMs: n.last.AtMs,
				Message: fmt.Sprintf("%s still held %d sessions %d ms after every client had gone (allowed: %d ms): ghosts of clients that left",
					name, n.last.Sessions, n.last.AtMs-l.LeftMs, within)})
		default:
			v.add(Violation{Kind: "not_read_long_enough", AtMs: n.last.AtMs,
				Message: fmt.Sprintf("%s held %d sessions at its last reading, %d ms after the clients left, and was not read again within the %d ms allowed",
					name, n.last.Sessions, n.last.AtMs-l.LeftMs, within)})
		}
	}
	return v.done(fmt.Sprintf("sessions after the clients left, back to none within %d ms: %s", within, strings.Join(cleared, ", ")))
}
