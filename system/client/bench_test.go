package client

import (
	"testing"

	"chatlab/system/protocol"
)

// BenchmarkReceiveMsg measures the host's per-message cost in the client:
// decode a msg frame, dedupe it, record its event and take it with Ready.
func BenchmarkReceiveMsg(b *testing.B) {
	const framesLen = 1024
	frames := make([][]byte, framesLen)
	for i := range frames {
		frames[i] = protocol.Encode(protocol.Msg{Type: protocol.TypeMsg, Room: "lobby", Seq: uint64(i + 1), ID: "bob-1234",
			From: "bob", Body: "a message of a typical chat length, some sixty bytes or so", TS: 1700000000000, Epoch: "n1.abc.1"})
	}
	c := newClient(b, Config{})
	c.Join("lobby")
	connect(b, c, 0)
	r := c.rooms["lobby"]
	b.ReportAllocs()
	b.SetBytes(int64(len(frames[0])))
	for i := 0; b.Loop(); i++ {
		if i%framesLen == 0 {
			// Replay the same seqs as fresh messages: cheaper than a reset
			// frame and keeps every iteration on the delivery path.
			r.lastSeq = 0
		}
		c.Receive(frames[i%framesLen])
		if rd := c.Ready(); len(rd.Events) != 1 || rd.Events[0].Duplicate {
			b.Fatalf("iteration %d: %+v", i, rd.Events)
		}
	}
}

// BenchmarkReceiveDuplicate measures the duplicate path (replay overlap).
func BenchmarkReceiveDuplicate(b *testing.B) {
	frame := msgFrame("lobby", 1, "bob-1")
	c := newClient(b, Config{})
	c.Join("lobby")
	connect(b, c, 0)
	c.Receive(msgFrame("lobby", 5, "bob-5"))
	c.Ready()
	b.ReportAllocs()
	for b.Loop() {
		c.Receive(frame)
		if rd := c.Ready(); len(rd.Events) != 1 || !rd.Events[0].Duplicate {
			b.Fatalf("%+v", rd.Events)
		}
	}
}
