package client

import (
	"testing"

	"chatlab/system/protocol"
)

// splitmix64 is a seeded source for Config.Random.
func splitmix64(seed uint64) func() uint64 {
	return func() uint64 {
		seed += 0x9e3779b97f4a7c15
		z := seed
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		return z ^ (z >> 31)
	}
}

func newClient(t testing.TB, cfg Config) *Client {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "c1"
	}
	if cfg.User == "" {
		cfg.User = "alice"
	}
	if cfg.Random == nil {
		cfg.Random = splitmix64(1)
	}
	return New(cfg)
}

// connect takes a new or waiting client through dial, connect and welcome
// at nowMs and returns what connecting produced.
func connect(t testing.TB, c *Client, nowMs int64) Ready {
	t.Helper()
	c.Tick(nowMs)
	if rd := c.Ready(); !rd.Dial {
		t.Fatalf("at %d ms: Ready did not ask to dial: %+v", nowMs, rd)
	}
	c.Connected()
	c.Receive(protocol.Encode(protocol.Welcome{Type: protocol.TypeWelcome, Node: "n1", User: "alice"}))
	return c.Ready()
}

// inbound decodes the client's frames with the node's strict decoder.
func inbound(t testing.TB, frames [][]byte) []protocol.Inbound {
	t.Helper()
	out := make([]protocol.Inbound, 0, len(frames))
	for _, data := range frames {
		in, reject := protocol.Decode(data)
		if reject != nil {
			t.Fatalf("client wrote a frame the node rejects: %s: %v", data, reject)
		}
		out = append(out, in)
	}
	return out
}

func msgFrame(room string, seq uint64, id string) []byte {
	return protocol.Encode(protocol.Msg{Type: protocol.TypeMsg, Room: room, Seq: seq, ID: id, From: "bob", Body: "hi", TS: 7})
}

func joinedFrame(room string, head uint64, epoch string) []byte {
	return protocol.Encode(protocol.Joined{Type: protocol.TypeJoined, Room: room, Head: head, Epoch: epoch})
}

func ackFrame(room, id string, seq uint64) []byte {
	return protocol.Encode(protocol.Ack{Type: protocol.TypeAck, Room: room, ID: id, Seq: seq})
}

func errorFrame(code protocol.Code, ref string) []byte {
	return protocol.Encode(protocol.Error{Type: protocol.TypeError, Code: code, Message: "test", Ref: ref})
}

func resetFrame(room string, from uint64, epoch string) []byte {
	return protocol.Encode(protocol.Reset{Type: protocol.TypeReset, Room: room, From: from, Epoch: epoch})
}

// kinds lists the events' kinds, for compact assertions.
func kinds(events []Event) []EventKind {
	out := make([]EventKind, 0, len(events))
	for _, e := range events {
		out = append(out, e.Kind)
	}
	return out
}

func sameKinds(t testing.TB, events []Event, want ...EventKind) {
	t.Helper()
	got := kinds(events)
	if len(got) != len(want) {
		t.Fatalf("event kinds = %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("event kinds = %v, want %v", got, want)
		}
	}
}

func mustSend(t testing.TB, c *Client, room, body string) string {
	t.Helper()
	id, err := c.Send(room, body)
	if err != nil {
		t.Fatalf("Send(%q, %q): %v", room, body, err)
	}
	return id
}

func roomState(t testing.TB, c *Client, name string) RoomSnapshot {
	t.Helper()
	for _, r := range c.Snapshot().Rooms {
		if r.Room == name {
			return r
		}
	}
	t.Fatalf("room %q not in snapshot", name)
	return RoomSnapshot{}
}
