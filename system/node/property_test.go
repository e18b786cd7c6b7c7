package node

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"chatlab/system/protocol"
)

// TestRandomLossAndReorderNeverBreakDelivery runs three nodes on one store
// while pub/sub drops and reorders messages at random and members join late
// with since: every member must see every seq once, in order, and catch up
// to the head once traffic stops.
func TestRandomLossAndReorderNeverBreakDelivery(t *testing.T) {
	for seed := uint64(1); seed <= 30; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { runLossAndReorder(t, seed) })
	}
}

type tracker struct {
	node   int
	conn   ConnID
	last   uint64
	joined bool
	since  bool
}

func runLossAndReorder(t *testing.T, seed uint64) {
	random := rand.New(rand.NewPCG(seed, 99))
	shared := newStore()
	nodes := make([]*harness, 3)
	for i := range nodes {
		nodes[i] = newHarness(t, Config{ID: fmt.Sprintf("n%d", i+1), RecentLenMax: 8, FetchLimit: 5, RoomPollIntervalMs: 500})
		nodes[i].store = shared
	}
	var inflight [3][]protocol.Msg
	var members []*tracker
	check := func() {
		for _, m := range members {
			h := nodes[m.node]
			for _, f := range h.take(m.conn) {
				switch f.Type {
				case protocol.TypeJoined:
					m.joined = true
					if !m.since {
						m.last = f.Head
					}
				case protocol.TypeReset:
					t.Fatalf("seed %d: unexpected reset %+v (no history was lost)", seed, f)
				case protocol.TypeMsg:
					if f.Seq != m.last+1 {
						t.Fatalf("seed %d: member %d/%d got seq %d after %d", seed, m.node, m.conn, f.Seq, m.last)
					}
					m.last = f.Seq
				}
			}
		}
	}
	spread := func() {
		for i, h := range nodes {
			for _, msg := range h.published {
				for j := range nodes {
					if j != i && random.IntN(5) != 0 { // one in five is lost on its way
						inflight[j] = append(inflight[j], msg)
					}
				}
			}
			h.published = nil
		}
	}
	nextConn := ConnID(1)
	nowMs := int64(0)
	for step := 0; step < 400; step++ {
		switch random.IntN(6) {
		case 0: // a member joins, late joiners with since
			i := random.IntN(3)
			m := &tracker{node: i, conn: nextConn}
			nextConn++
			nodes[i].open(m.conn, "u")
			nodes[i].take(m.conn)
			if head := shared.seq["r"]; head > 0 && random.IntN(2) == 0 {
				m.last, m.since = uint64(random.IntN(int(head)+1)), true
				nodes[i].frame(m.conn, `{"type":"join","room":"r","since":%d,"epoch":"%s"}`, m.last, shared.epoch["r"])
			} else {
				nodes[i].frame(m.conn, `{"type":"join","room":"r"}`)
			}
			members = append(members, m)
		case 1, 2: // a member sends
			if len(members) == 0 {
				continue
			}
			m := members[random.IntN(len(members))]
			nodes[m.node].frame(m.conn, `{"type":"send","room":"r","id":"%d","body":"x"}`, step)
		case 3: // pub/sub delivers to one node, possibly out of order
			i := random.IntN(3)
			queue := inflight[i]
			if len(queue) > 1 && random.IntN(3) == 0 {
				queue[0], queue[1] = queue[1], queue[0]
			}
			for _, msg := range queue {
				nodes[i].n.Message(msg)
				nodes[i].collect()
			}
			inflight[i] = nil
		case 4:
			nowMs += 100
			for _, h := range nodes {
				h.n.Tick(nowMs)
				h.collect()
			}
		case 5:
			for _, h := range nodes {
				h.answer()
			}
		}
		spread()
		check()
	}
	// Quiet: no more sends; polls must bring every member to the head.
	for round := 0; round < 20; round++ {
		nowMs += 500
		for _, h := range nodes {
			h.n.Tick(nowMs)
			h.collect()
			h.answer()
		}
		spread()
		check()
	}
	head := shared.seq["r"]
	for _, m := range members {
		if !m.joined || m.last != head {
			t.Fatalf("seed %d: member %d/%d ended at seq %d (joined %v), head is %d", seed, m.node, m.conn, m.last, m.joined, head)
		}
	}
}
