package client

import (
	"fmt"
	"testing"

	"chatlab/system/protocol"
)

// fakeNode is a minimal recover-mode node for one room: seqs, dedupe by
// send id, replay after since. The lossy link in front of it is the test.
type fakeNode struct {
	log    []protocol.Msg // seq = index + 1
	seqOf  map[string]uint64
	member bool
	outbox [][]byte
}

// handle answers a client frame; loseAck models a node that applied a send
// but lost the broker's reply, so that only the client's resend gets an ack.
func (n *fakeNode) handle(t *testing.T, data []byte, loseAck bool) {
	in, reject := protocol.Decode(data)
	if reject != nil {
		t.Fatalf("node rejects %s: %v", data, reject)
	}
	switch in.Type {
	case protocol.TypeJoin:
		n.member = true
		n.outbox = append(n.outbox, joinedFrame(in.Room, uint64(len(n.log)), "e1"))
		if in.HasSince {
			for _, m := range n.log[min(int(in.Since), len(n.log)):] {
				n.outbox = append(n.outbox, protocol.Encode(m))
			}
		}
	case protocol.TypeSend:
		seq, seen := n.seqOf[in.ID]
		if !seen {
			seq = n.post(in.ID, "alice", in.Body)
			n.seqOf[in.ID] = seq
		}
		if !loseAck {
			n.outbox = append(n.outbox, ackFrame(in.Room, in.ID, seq))
		}
	}
}

func (n *fakeNode) post(id, from, body string) uint64 {
	m := protocol.Msg{Type: protocol.TypeMsg, Room: "lobby", Seq: uint64(len(n.log) + 1), ID: id, From: from, Body: body, Epoch: "e1"}
	n.log = append(n.log, m)
	if n.member {
		n.outbox = append(n.outbox, protocol.Encode(m))
	}
	return m.Seq
}

// lossyRun drives a client against a fakeNode through dial failures,
// disconnects that lose the frames in flight both ways, lost acks and
// duplicated frames, then lets it settle. A connection itself is a reliable
// ordered stream, as a WebSocket is: frames are lost only with it.
type lossyRun struct {
	t      *testing.T
	random func() uint64
	c      *Client
	node   *fakeNode
	nowMs  int64
	events []Event
	faults bool
}

func (r *lossyRun) chance(percent uint64) bool { return r.faults && r.random()%100 < percent }

// pump carries out the client's Ready and the node's answers until both
// are quiet.
func (r *lossyRun) pump() {
	for pumpRoundsMax := 10_000; pumpRoundsMax > 0; pumpRoundsMax-- {
		rd := r.c.Ready()
		r.events = append(r.events, rd.Events...)
		connected := r.c.Snapshot().Connected
		if rd.Dial {
			if r.chance(30) {
				r.c.DialFailed()
			} else {
				r.node.member, r.node.outbox = false, nil
				r.c.Connected()
				r.node.outbox = append(r.node.outbox, protocol.Encode(protocol.Welcome{Type: protocol.TypeWelcome, Node: "n1", User: "alice"}))
			}
			continue
		}
		if connected && len(rd.Frames) > 0 && r.chance(5) {
			r.disconnect(1006) // the frames just written die with the connection
			continue
		}
		for _, frame := range rd.Frames {
			if connected {
				r.node.handle(r.t, frame, r.chance(10))
			}
		}
		if rd.Close {
			r.disconnect(1000)
			continue
		}
		if len(r.node.outbox) == 0 {
			return
		}
		if r.chance(5) {
			r.disconnect([]int{1006, protocol.CloseReconnect}[r.random()%2])
			continue
		}
		frame := r.node.outbox[0]
		r.node.outbox = r.node.outbox[1:]
		r.c.Receive(frame)
		if r.chance(10) {
			r.c.Receive(frame) // duplicated
		}
	}
	r.t.Fatal("pump did not settle")
}

func (r *lossyRun) disconnect(code int) {
	r.node.member, r.node.outbox = false, nil
	r.c.Disconnected(code)
}

func (r *lossyRun) step() {
	r.nowMs += int64(r.random() % 300)
	r.c.Tick(r.nowMs)
	if r.c.Snapshot().Connected {
		switch r.random() % 3 {
		case 0:
			if _, err := r.c.Send("lobby", fmt.Sprintf("m%d", r.nowMs)); err != nil && err != ErrPendingSendsFull {
				r.t.Fatal(err)
			}
		case 1:
			r.node.post(fmt.Sprintf("bob-%d", len(r.node.log)), "bob", "hey")
		}
	}
	r.pump()
}

func TestLossyLinkLosesNothingAndDeliversOnce(t *testing.T) {
	const seeds, faultStepsMax, settleStepsMax = 40, 400, 2000
	for seed := uint64(1); seed <= seeds; seed++ {
		random := splitmix64(seed)
		r := &lossyRun{t: t, random: random, node: &fakeNode{seqOf: map[string]uint64{}}, faults: true,
			c: New(Config{Name: "c1", User: "alice", Random: random, ResendAfterMs: 500, SendAttemptsMax: 1 << 20, PendingSendsMax: 8})}
		r.c.Join("lobby")
		for range faultStepsMax {
			r.step()
		}
		r.faults = false
		for i := 0; ; i++ {
			s := r.c.Snapshot()
			if s.Connected && len(s.Pending) == 0 && s.Rooms[0].Joined && s.Rooms[0].LastSeq == uint64(len(r.node.log)) {
				break
			}
			if i == settleStepsMax {
				t.Fatalf("seed %d: did not settle: %+v", seed, s)
			}
			r.nowMs += 100
			r.c.Tick(r.nowMs)
			r.pump()
		}
		checkLossyRun(t, seed, r)
	}
}

func checkLossyRun(t *testing.T, seed uint64, r *lossyRun) {
	var firstHead uint64
	joinedSeen := false
	delivered := map[uint64]int{}
	lastDelivered := uint64(0)
	sent, acked := map[string]bool{}, map[string]uint64{}
	for _, e := range r.events {
		switch e.Kind {
		case KindJoined:
			if !joinedSeen {
				firstHead, joinedSeen = e.Head, true
			}
		case KindDelivered:
			if e.Duplicate {
				continue
			}
			delivered[e.Seq]++
			if e.Seq <= lastDelivered {
				t.Fatalf("seed %d: seq %d delivered after %d", seed, e.Seq, lastDelivered)
			}
			lastDelivered = e.Seq
		case KindSent:
			sent[e.ID] = true
		case KindAcked:
			if _, twice := acked[e.ID]; twice {
				t.Fatalf("seed %d: %s acked twice", seed, e.ID)
			}
			acked[e.ID] = e.Seq
		case KindSendFailed:
			t.Fatalf("seed %d: send failed: %+v", seed, e)
		}
	}
	for seq := firstHead + 1; seq <= uint64(len(r.node.log)); seq++ {
		if delivered[seq] != 1 {
			t.Fatalf("seed %d: seq %d delivered %d times (first head %d, log %d)", seed, seq, delivered[seq], firstHead, len(r.node.log))
		}
	}
	for id := range sent {
		seq, ok := acked[id]
		if !ok {
			t.Fatalf("seed %d: %s never acked", seed, id)
		}
		if r.node.log[seq-1].ID != id {
			t.Fatalf("seed %d: %s acked as seq %d, which holds %s", seed, id, seq, r.node.log[seq-1].ID)
		}
	}
	if len(r.node.seqOf) != len(sent) {
		t.Fatalf("seed %d: node holds %d distinct sends, client made %d", seed, len(r.node.seqOf), len(sent))
	}
	s := r.c.Snapshot()
	if s.Reconnects == 0 || s.Counters.Resends == 0 || s.Counters.Duplicates == 0 {
		t.Fatalf("seed %d: the faults did not bite: %+v", seed, s.Counters)
	}
}
