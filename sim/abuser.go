package sim

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// AbuseKind is what an abusing client does.
type AbuseKind string

// Abuses: clients that do what no well-behaved client does, to show that
// the system keeps them from hurting the others.
const (
	// AbuseJoinFlood: each connection leaves a room and joins a new one
	// as fast as its interval allows.
	AbuseJoinFlood AbuseKind = "join-flood"
	// AbuseGarbage: each connection sends frames that are not JSON.
	AbuseGarbage AbuseKind = "garbage"
	// AbuseConnFlood: one user from one address opens connections until
	// it holds Clients of them.
	AbuseConnFlood AbuseKind = "conn-flood"
	// AbuseUpgradeAborts: bursts of Clients connections through the
	// balancer, each reset while the balancer dials its node.
	AbuseUpgradeAborts AbuseKind = "upgrade-aborts"
)

// Timings of the abusers.
const (
	// abuseTick is how often an abuser writes its frames or opens its
	// connections (at high rates, a tick's worth at once).
	abuseTick = 10 * time.Millisecond
	// abuseRedial is how long a flooding connection the node closed waits
	// before it comes back.
	abuseRedial = 200 * time.Millisecond
	// abortAfter is how long after its dial an aborting client resets:
	// past the balancer's accept, while the balancer dials the node.
	abortAfter = 3 * time.Millisecond
)

// Abuse is one abusing client, as data.
type Abuse struct {
	Kind AbuseKind
	// Name names the abuser's host, its users (Name, or Name-i for a flood
	// of Clients connections) and its address.
	Name string
	// Node, when set, is the node the abuser dials directly; otherwise it
	// dials the cluster's entry (the balancer).
	Node string
	// Clients is the number of flooding connections (join-flood,
	// garbage), of connections to hold (conn-flood), or of upgrades in a
	// burst (upgrade-aborts).
	Clients int
	// Interval is the time between frames of one connection (join-flood,
	// garbage), between new connections (conn-flood) or between bursts
	// (upgrade-aborts).
	Interval time.Duration
	// Start and Stop bound the abuse: at Stop its connections close.
	Start, Stop time.Duration
}

// abuser runs one Abuse. It records nothing in the history: the checks
// judge what the well-behaved clients saw.
type abuser struct {
	cluster *Cluster
	host    *host
	abuse   Abuse
	// slots are the flooding connections (join-flood, garbage), nil while
	// one is closed; conns are the connections open or being opened.
	slots  []*Conn
	conns  map[*Conn]int // slot, or -1
	frames int
	// owed carries the fraction of a frame or connection a tick earned.
	owed float64
}

// AddAbuse schedules an abusing client. It fails on an abuse that names an
// unknown node or kind, or aborted upgrades with no balancer.
func (c *Cluster) AddAbuse(a Abuse) error {
	if a.Node != "" && c.nodeByName[a.Node] == nil {
		return fmt.Errorf("sim: abuse %s: no node %q", a.Name, a.Node)
	}
	switch a.Kind {
	case AbuseJoinFlood, AbuseGarbage, AbuseConnFlood:
	case AbuseUpgradeAborts:
		if c.balancer == nil || a.Node != "" {
			return fmt.Errorf("sim: abuse %s: aborted upgrades need the balancer", a.Name)
		}
	default:
		return fmt.Errorf("sim: abuse %s: unknown kind %q", a.Name, a.Kind)
	}
	if a.Clients <= 0 || a.Interval <= 0 || a.Stop <= a.Start {
		return fmt.Errorf("sim: abuse %s: want clients, an interval and a window", a.Name)
	}
	h := &abuser{cluster: c, host: newHost(a.Name), abuse: a, slots: make([]*Conn, a.Clients), conns: map[*Conn]int{}}
	c.addHost(h.host)
	c.world.on(h.host, a.Start, "abuse-start", 0, func() {
		switch a.Kind {
		case AbuseJoinFlood, AbuseGarbage:
			for slot := range h.slots {
				h.dialSlot(slot)
			}
		}
		h.tick()
	})
	c.world.on(h.host, a.Stop, "abuse-stop", 0, h.stop)
	return nil
}

func (h *abuser) endpointHost() *host { return h.host }
func (h *abuser) ignoresFlushes()     {}
func (h *abuser) flushed(*Conn, int)  {}
func (h *abuser) connected(*Conn)     {}
func (h *abuser) receive(*Conn, any)  {}

func (h *abuser) now() time.Duration { return h.cluster.world.now }

func (h *abuser) target() listener {
	if h.abuse.Node != "" {
		return h.cluster.nodeByName[h.abuse.Node]
	}
	return h.cluster.entry()
}

// dial opens one connection as user, from the abuser's address.
func (h *abuser) dial(user string, slot int) *Conn {
	c := h.cluster.network.Dial(h, h.target(), user)
	c.Source = h.abuse.Name
	h.conns[c] = slot
	return c
}

func (h *abuser) dialSlot(slot int) {
	h.slots[slot] = h.dial(h.abuse.Name+"-"+strconv.Itoa(slot+1), slot)
}

// closed: the node closed a connection (a policy close, a refusal) or it
// broke. A flooding connection comes back after abuseRedial.
func (h *abuser) closed(c *Conn, _ int) {
	slot, ok := h.conns[c]
	if !ok {
		return
	}
	delete(h.conns, c)
	if slot < 0 || h.now() >= h.abuse.Stop {
		return
	}
	h.slots[slot] = nil
	h.cluster.world.on(h.host, abuseRedial, "abuse-redial", uint64(slot), func() {
		if h.now() < h.abuse.Stop && h.slots[slot] == nil {
			h.dialSlot(slot)
		}
	})
}

// tick does a tick's worth of abuse and schedules the next tick.
func (h *abuser) tick() {
	if h.now() >= h.abuse.Stop {
		return
	}
	every := max(abuseTick, h.abuse.Interval)
	h.owed += float64(every) / float64(h.abuse.Interval)
	count := int(h.owed)
	h.owed -= float64(count)
	switch h.abuse.Kind {
	case AbuseJoinFlood, AbuseGarbage:
		for _, c := range h.slots {
			if c != nil && c.Open() {
				for range count {
					h.write(c)
				}
			}
		}
	case AbuseConnFlood:
		for range count {
			if len(h.conns) < h.abuse.Clients {
				h.dial(h.abuse.Name, -1)
			}
		}
	case AbuseUpgradeAborts:
		for range count * h.abuse.Clients {
			c := h.dial(h.abuse.Name, -1)
			h.cluster.world.on(h.host, abortAfter, "abuse-abort", c.ID, func() {
				delete(h.conns, c)
				h.cluster.network.Reset(c)
			})
		}
	}
	h.cluster.world.on(h.host, every, "abuse-tick", 0, h.tick)
}

// write sends one abusive frame: a leave of the room joined last and a
// join of a new one, in turn, or garbage.
func (h *abuser) write(c *Conn) {
	h.frames++
	var frame []byte
	switch {
	case h.abuse.Kind == AbuseGarbage:
		frame = []byte("\xff{not json " + strconv.Itoa(h.frames))
	case h.frames%2 == 1:
		frame = []byte(`{"type":"join","room":"` + h.room(h.frames) + `"}`)
	default:
		frame = []byte(`{"type":"leave","room":"` + h.room(h.frames-1) + `"}`)
	}
	h.cluster.network.Write(c, h.host, frame, len(frame), digest(frame))
}

// room names a join's room: a new one each time, so that every join costs
// the node a subscription and a fetch.
func (h *abuser) room(frame int) string {
	return h.abuse.Name + "-" + strconv.Itoa(frame)
}

// stop closes every connection of the abuser.
func (h *abuser) stop() {
	conns := make([]*Conn, 0, len(h.conns))
	for c := range h.conns { // map order: sorted by ID below
		conns = append(conns, c)
	}
	sortConns(conns)
	clear(h.conns)
	for _, c := range conns {
		h.cluster.network.Close(c, h.host, closeNormal)
	}
}

func sortConns(conns []*Conn) {
	slices.SortFunc(conns, func(a, b *Conn) int { return compare(a.ID, b.ID) })
}
