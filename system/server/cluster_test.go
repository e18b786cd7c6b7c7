package server

import (
	"fmt"
	"testing"

	"github.com/alicebob/miniredis/v2"

	"chatlab/system/protocol"
)

// Two nodes on one Redis: a member on each sees every message of the room,
// each once, in the same order, and each sender gets an ack per send.
func TestTwoNodesShareARoom(t *testing.T) {
	m := miniredis.RunT(t)
	nodeA := startNode(t, m, "a", nil)
	nodeB := startNode(t, m, "b", nil)
	alice := dial(t, nodeA, "token="+token(t, "alice"))
	bob := dial(t, nodeB, "token="+token(t, "bob"))
	alice.join("lobby")
	bob.join("lobby")

	const sendsPerUser = 5
	for i := range sendsPerUser {
		alice.write(protocol.Send{Type: protocol.TypeSend, Room: "lobby", ID: fmt.Sprintf("a%d", i), Body: "from alice"})
		bob.write(protocol.Send{Type: protocol.TypeSend, Room: "lobby", ID: fmt.Sprintf("b%d", i), Body: "from bob"})
	}
	aliceLog, aliceAcks := alice.collect("lobby", 2*sendsPerUser, sendsPerUser)
	bobLog, bobAcks := bob.collect("lobby", 2*sendsPerUser, sendsPerUser)
	// One more message, sent after every ack, marks the end: a message
	// delivered twice would arrive before it.
	alice.write(protocol.Send{Type: protocol.TypeSend, Room: "lobby", ID: "end", Body: "end"})
	alice.expectEnd("lobby")
	bob.expectEnd("lobby")
	for i := range aliceLog {
		if aliceLog[i] != bobLog[i] {
			t.Fatalf("logs differ at %d:\nalice %v\nbob   %v", i, aliceLog, bobLog)
		}
	}
	// Seqs run 1, 2, 3, ... and a sender's messages keep its send order.
	lastSent := map[string]string{}
	for i, entry := range aliceLog {
		if entry.seq != uint64(i+1) {
			t.Fatalf("message %d has seq %d; want %d (log %v)", i, entry.seq, i+1, aliceLog)
		}
		if entry.id < lastSent[entry.from] {
			t.Fatalf("%s's %s arrived after its %s: %v", entry.from, entry.id, lastSent[entry.from], aliceLog)
		}
		lastSent[entry.from] = entry.id
	}
	for _, entry := range aliceLog {
		acks := map[string]map[string]uint64{"alice": aliceAcks, "bob": bobAcks}[entry.from]
		if acks[entry.id] != entry.seq {
			t.Fatalf("%s's %s was acked with seq %d but delivered as %d", entry.from, entry.id, acks[entry.id], entry.seq)
		}
	}
}

type logEntry struct {
	seq  uint64
	id   string
	from string
}

// collect reads until count messages of room and ackCount acks have
// arrived, failing on a duplicate message or ack. It returns the messages in arrival order and the acked
// send ids with their seqs.
func (c *client) collect(room string, count, ackCount int) ([]logEntry, map[string]uint64) {
	c.t.Helper()
	var log []logEntry
	acks := map[string]uint64{}
	seen := map[string]bool{}
	for len(log) < count || len(acks) < ackCount {
		frame := c.next()
		switch frame.Type {
		case protocol.TypeMsg:
			if frame.Room != room {
				c.t.Fatalf("message of room %q; want %q", frame.Room, room)
			}
			key := frame.FromUser + "/" + frame.ID
			if seen[key] {
				c.t.Fatalf("message %s delivered twice", key)
			}
			seen[key] = true
			log = append(log, logEntry{seq: frame.Seq, id: frame.ID, from: frame.FromUser})
		case protocol.TypeAck:
			if _, twice := acks[frame.ID]; twice {
				c.t.Fatalf("send %s acked twice", frame.ID)
			}
			acks[frame.ID] = frame.Seq
		case protocol.TypeError:
			c.t.Fatalf("error frame %s: %s", frame.Code, frame.Message)
		}
	}
	return log, acks
}

// expectEnd reads until the "end" message, failing on any other message.
func (c *client) expectEnd(room string) {
	c.t.Helper()
	for {
		frame := c.next()
		switch frame.Type {
		case protocol.TypeMsg:
			if frame.Room != room || frame.ID != "end" {
				c.t.Fatalf("got %+v; want only the end message", frame)
			}
			return
		case protocol.TypeError:
			c.t.Fatalf("error frame %s: %s", frame.Code, frame.Message)
		}
	}
}
