package sim

import (
	"fmt"

	"chatlab/system/client"
	"math/rand/v2"
	"strings"
	"time"
)

// Workload describes clients and their traffic. Zero fields take defaults.
type Workload struct {
	// Clients to create, named Prefix + index ("c001").
	Clients int
	Prefix  string
	// Rooms in use ("room-1".."room-N") and how many each client joins:
	// client i joins rooms i, i+1, ... modulo Rooms.
	Rooms          int
	RoomsPerClient int
	// Start is when clients join; sends run from Start+Warmup to Stop.
	Start  time.Duration
	Warmup time.Duration
	Stop   time.Duration
	// SendInterval is each client's mean time between sends
	// (exponentially distributed: a Poisson stream per client).
	SendInterval time.Duration
	// SendBurst is how many sends each scheduled send makes, back to back
	// (each to a room drawn from the client's), so that that many are in
	// flight together; the bursts come SendBurst times SendInterval apart
	// on average, keeping the send rate. 0 or 1: one send at a time.
	SendBurst int
	// ListenOnly clients join their rooms and never send, leave or drop
	// their connection: only keepalive keeps them connected.
	ListenOnly bool
	// BodyBytes is each message's body size.
	BodyBytes int
	// JoinLeaveInterval is each client's mean time between leaving one of
	// its rooms and joining it again (a new membership, from the room's
	// head); 0 for never.
	JoinLeaveInterval time.Duration
	// ReconnectInterval is each client's mean time between dropping its
	// connection on its own (a flaky network); 0 for never.
	ReconnectInterval time.Duration
	// Client, when set, replaces the topology's client template for these
	// clients (flooding clients hold fewer pending sends, say).
	Client *client.Config
}

// Workload defaults.
const (
	workloadRoomsDefault        = 10
	workloadWarmupDefault       = time.Second
	workloadSendIntervalDefault = 2 * time.Second
	workloadBodyBytesDefault    = 32
)

func (w Workload) withDefaults() Workload {
	if w.Prefix == "" {
		w.Prefix = "c"
	}
	if w.Rooms <= 0 {
		w.Rooms = workloadRoomsDefault
	}
	if w.RoomsPerClient <= 0 {
		w.RoomsPerClient = 1
	}
	w.RoomsPerClient = min(w.RoomsPerClient, w.Rooms)
	if w.Warmup == 0 {
		w.Warmup = workloadWarmupDefault
	}
	if w.SendInterval <= 0 {
		w.SendInterval = workloadSendIntervalDefault
	}
	if w.BodyBytes <= 0 {
		w.BodyBytes = workloadBodyBytesDefault
	}
	w.SendBurst = max(w.SendBurst, 1)
	return w
}

// RoomName is the workload's name for room i (from 1).
func RoomName(i int) string { return fmt.Sprintf("room-%d", i) }

// AddWorkload creates the workload's clients and schedules their joins
// and sends. Each client draws its send times from its own source, derived
// in creation order.
func (c *Cluster) AddWorkload(w Workload) []*ClientHost {
	w = w.withDefaults()
	hosts := make([]*ClientHost, 0, w.Clients)
	for i := 0; i < w.Clients; i++ {
		name := fmt.Sprintf("%s%03d", w.Prefix, i+1)
		h := c.addClient(name, name, w.Client)
		rooms := make([]string, 0, w.RoomsPerClient)
		for k := 0; k < w.RoomsPerClient; k++ {
			rooms = append(rooms, RoomName((i+k)%w.Rooms+1))
		}
		driver := &sender{cluster: c, host: h, rooms: rooms, random: c.world.NewRandom(), workload: w}
		c.world.on(h.host, w.Start, "join", 0, func() {
			for _, room := range rooms {
				if err := h.Join(room); err != nil {
					panic("sim: workload room: " + err.Error())
				}
			}
		})
		if w.ListenOnly {
			hosts = append(hosts, h)
			continue
		}
		driver.scheduleNext(w.Start + w.Warmup)
		if w.JoinLeaveInterval > 0 {
			churn := &churner{sender: driver, interval: w.JoinLeaveInterval, random: c.world.NewRandom()}
			churn.scheduleNext(w.Start + w.Warmup)
		}
		if w.ReconnectInterval > 0 {
			dropper := &dropper{sender: driver, interval: w.ReconnectInterval, random: c.world.NewRandom()}
			dropper.scheduleNext(w.Start + w.Warmup)
		}
		hosts = append(hosts, h)
	}
	c.workloadEnd = max(c.workloadEnd, w.Stop)
	return hosts
}

// sender is one client's send loop.
type sender struct {
	cluster  *Cluster
	host     *ClientHost
	rooms    []string
	random   *rand.Rand
	workload Workload
	count    int
}

func (s *sender) scheduleNext(from time.Duration) {
	burst := s.workload.SendBurst
	at := from + time.Duration(s.random.ExpFloat64()*float64(s.workload.SendInterval)*float64(burst))
	if at >= s.workload.Stop {
		return
	}
	s.cluster.world.schedule(at, s.host.host, "send", s.host.name, 0, func() {
		for range burst {
			s.count++
			room := s.rooms[s.random.IntN(len(s.rooms))]
			body := fmt.Sprintf("%s #%d ", s.host.name, s.count)
			if len(body) < s.workload.BodyBytes {
				body += strings.Repeat(".", s.workload.BodyBytes-len(body))
			}
			// A full pending queue refuses the send; the client records
			// nothing and the workload moves on, as an app would, counting it.
			if _, err := s.host.Send(room, body); err != nil {
				s.cluster.sendsRefused++
			}
		}
		s.scheduleNext(s.cluster.world.now)
	})
}

// churner makes one client leave one of its rooms now and then and join it
// again a moment later, as a new member.
type churner struct {
	sender   *sender
	interval time.Duration
	random   *rand.Rand
}

// churnRejoinDelay is how long a churning client stays out of the room.
const churnRejoinDelay = 500 * time.Millisecond

func (c *churner) scheduleNext(from time.Duration) {
	s := c.sender
	at := from + time.Duration(c.random.ExpFloat64()*float64(c.interval))
	if at+churnRejoinDelay >= s.workload.Stop {
		return
	}
	s.cluster.world.schedule(at, s.host.host, "leave", s.host.name, 0, func() {
		room := s.rooms[c.random.IntN(len(s.rooms))]
		s.host.Leave(room)
		s.cluster.world.schedule(at+churnRejoinDelay, s.host.host, "rejoin", s.host.name, 0, func() {
			if err := s.host.Join(room); err != nil {
				panic("sim: workload rejoin: " + err.Error())
			}
			c.scheduleNext(s.cluster.world.now)
		})
	})
}

// dropper resets one client's connection now and then, as a flaky network
// would; the client reconnects and resumes on its own.
type dropper struct {
	sender   *sender
	interval time.Duration
	random   *rand.Rand
}

func (d *dropper) scheduleNext(from time.Duration) {
	s := d.sender
	at := from + time.Duration(d.random.ExpFloat64()*float64(d.interval))
	if at >= s.workload.Stop {
		return
	}
	s.cluster.world.schedule(at, s.host.host, "drop", s.host.name, 0, func() {
		s.host.Drop()
		d.scheduleNext(s.cluster.world.now)
	})
}
