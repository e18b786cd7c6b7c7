package node

import (
	"testing"

	"chatlab/system/protocol"
)

// BenchmarkDeliver measures the node's delivery path: one message arriving
// on a subscription and handed to every member of a room of 1,000. It
// reports deliveries per second and allocations per delivery.
// Advance: the host hands each Ready back, as system/server and the
// simulator do; without: every Ready's lists are new.
func BenchmarkDeliver(b *testing.B) {
	b.Run("advance", func(b *testing.B) { benchmarkDeliver(b, true) })
	b.Run("no-advance", func(b *testing.B) { benchmarkDeliver(b, false) })
}

func benchmarkDeliver(b *testing.B, advance bool) {
	const membersPerRoom = 1000
	counter := uint64(0)
	n := New(Config{ID: "n1", Random: func() uint64 { counter++; return counter }, SendQueueLenMax: 1 << 30})
	n.BrokerUp()
	for conn := ConnID(1); conn <= membersPerRoom; conn++ {
		n.Open(conn, "u")
		n.Receive(conn, []byte(`{"type":"join","room":"r"}`))
	}
	ready := n.Ready()
	n.Fetched(ready.Fetches[0].Request, FetchReply{Epoch: "e", Head: 0, First: 1}, nil)
	n.Ready()
	msg := protocol.Msg{Type: protocol.TypeMsg, Room: "r", ID: "x", From: "u", Body: "hello, room", Epoch: "e"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		msg.Seq = uint64(i + 1)
		n.Message(msg)
		ready := n.Ready()
		if len(ready.Frames) != membersPerRoom {
			b.Fatalf("delivered %d frames, want %d", len(ready.Frames), membersPerRoom)
		}
		if advance {
			n.Advance(ready)
		}
		for conn := ConnID(1); conn <= membersPerRoom; conn++ {
			n.Flushed(conn, 1)
		}
	}
	b.StopTimer()
	deliveries := float64(b.N) * membersPerRoom
	b.ReportMetric(deliveries/b.Elapsed().Seconds(), "deliveries/s")
}
