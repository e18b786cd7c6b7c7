package sim

import (
	"fmt"
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
	// BodyBytes is each message's body size.
	BodyBytes int
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
		h := c.AddClient(name, name)
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
		driver.scheduleNext(w.Start + w.Warmup)
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
	at := from + time.Duration(s.random.ExpFloat64()*float64(s.workload.SendInterval))
	if at >= s.workload.Stop {
		return
	}
	s.cluster.world.schedule(at, s.host.host, "send", s.host.name, 0, func() {
		s.count++
		room := s.rooms[s.random.IntN(len(s.rooms))]
		body := fmt.Sprintf("%s #%d ", s.host.name, s.count)
		if len(body) < s.workload.BodyBytes {
			body += strings.Repeat(".", s.workload.BodyBytes-len(body))
		}
		// A full pending queue refuses the send; the client records nothing
		// and the workload moves on, as an app would, counting it.
		if _, err := s.host.Send(room, body); err != nil {
			s.cluster.sendsRefused++
		}
		s.scheduleNext(s.cluster.world.now)
	})
}
