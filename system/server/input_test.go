package server

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gorilla/websocket"

	"chatlab/system/protocol"
)

// Every malformed frame gets an error frame with its code and the
// connection keeps working; an oversized frame closes it with 1009 and
// leaves other clients alone.
func TestBadInput(t *testing.T) {
	m := miniredis.RunT(t)
	srv := startNode(t, m, "a", nil)
	alice := dial(t, srv, "token="+token(t, "alice"))
	bystander := dial(t, srv, "token="+token(t, "bob"))
	bystander.join("lobby")

	for _, tc := range []struct {
		name  string
		kind  int
		frame string
		code  protocol.Code
	}{
		{"invalid json", websocket.TextMessage, `{"type":"join",`, protocol.CodeBadJSON},
		{"invalid utf-8", websocket.TextMessage, "{\"type\":\"join\",\"room\":\"\xff\"}", protocol.CodeBadUTF8},
		{"unknown type", websocket.TextMessage, `{"type":"shout","room":"lobby"}`, protocol.CodeUnknownType},
		{"unknown field", websocket.TextMessage, `{"type":"join","room":"lobby","loud":true}`, protocol.CodeUnknownField},
		{"repeated key", websocket.TextMessage, `{"type":"send","room":"lobby","id":"1","body":"hi","type":"join"}`, protocol.CodeBadJSON},
		{"key in another case", websocket.TextMessage, `{"TYPE":"join","room":"lobby"}`, protocol.CodeUnknownField},
		{"missing field", websocket.TextMessage, `{"type":"send","room":"lobby","id":"1"}`, protocol.CodeMissingField},
		{"oversized field", websocket.TextMessage, `{"type":"join","room":"` + strings.Repeat("r", protocol.RoomBytesMax+1) + `"}`, protocol.CodeFieldTooLong},
		{"bad room", websocket.TextMessage, `{"type":"join","room":"a room"}`, protocol.CodeBadRoom},
		{"not a member", websocket.TextMessage, `{"type":"send","room":"elsewhere","id":"1","body":"hi"}`, protocol.CodeNotMember},
		{"binary frame", websocket.BinaryMessage, `{"type":"join","room":"lobby"}`, protocol.CodeBinaryFrame},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alice.writeRaw(tc.kind, []byte(tc.frame))
			reply := alice.next()
			if reply.Type != protocol.TypeError || reply.Code != tc.code {
				t.Fatalf("got %+v; want an error frame with code %s", reply, tc.code)
			}
		})
	}

	t.Run("too many rooms", func(t *testing.T) {
		for i := range protocol.RoomsPerConnectionMax {
			alice.join(fmt.Sprintf("room-%d", i))
		}
		alice.write(protocol.Join{Type: protocol.TypeJoin, Room: "one-too-many"})
		if reply := alice.next(); reply.Type != protocol.TypeError || reply.Code != protocol.CodeTooManyRooms {
			t.Fatalf("got %+v; want too_many_rooms", reply)
		}
		alice.write(protocol.Leave{Type: protocol.TypeLeave, Room: "room-0"})
		alice.join("lobby")
	})

	t.Run("the connection still works", func(t *testing.T) {
		alice.write(protocol.Send{Type: protocol.TypeSend, Room: "lobby", ID: "after-rejects", Body: "still here"})
		if msg := bystander.nextOf(protocol.TypeMsg); msg.ID != "after-rejects" {
			t.Fatalf("bystander got %+v; want alice's message", msg)
		}
	})

	t.Run("oversized frame closes with 1009", func(t *testing.T) {
		alice.writeRaw(websocket.TextMessage, []byte(`{"type":"send","room":"lobby","id":"big","body":"`+
			strings.Repeat("b", protocol.FrameBytesMax)+`"}`))
		if code := alice.closeCode(); code != protocol.CloseMessageTooBig {
			t.Fatalf("close code %d; want %d", code, protocol.CloseMessageTooBig)
		}
		bystander.write(protocol.Send{Type: protocol.TypeSend, Room: "lobby", ID: "after-close", Body: "unaffected"})
		if ack := bystander.nextOf(protocol.TypeAck); ack.ID != "after-close" {
			t.Fatalf("bystander got %+v; want its ack", ack)
		}
	})
}

// A join or resume whose since is out of range (above 2^53-1, what a JSON
// number carries exactly; 2^63 is beyond any seq Redis hands out) is
// answered with out_of_range naming the room, and costs no Redis call. The
// connection goes on in its rooms. It used to get joined and then nothing,
// while the node retried a fetch Redis refused every 500 ms for ever.
func TestSinceOutOfRangeIsRefusedWithoutARedisCall(t *testing.T) {
	m := miniredis.RunT(t)
	srv := startNode(t, m, "a", func(cfg *Config) { cfg.RoomPollInterval = time.Hour })
	alice := dial(t, srv, "token="+token(t, "alice"))
	bob := dial(t, srv, "token="+token(t, "bob"))
	joined := alice.join("lobby")
	bob.join("lobby")
	fetches := nodeState(t, srv).Counters.Fetches

	for _, frame := range []string{
		`{"type":"join","room":"far","since":9223372036854775808}`,
		`{"type":"join","room":"far","since":9007199254740992}`,
		`{"type":"join","room":"far","since":18446744073709551616}`,
		`{"type":"join","room":"lobby","since":9223372036854775808,"epoch":"` + joined.Epoch + `"}`,
	} {
		alice.writeRaw(websocket.TextMessage, []byte(frame))
		if reply := alice.next(); reply.Type != protocol.TypeError || reply.Code != protocol.CodeOutOfRange ||
			(reply.Ref != "far" && reply.Ref != "lobby") {
			t.Fatalf("%s: got %+v; want an error out_of_range naming the room", frame, reply)
		}
	}
	bob.write(protocol.Send{Type: protocol.TypeSend, Room: "lobby", ID: "b-1", Body: "still there?"})
	if msg := alice.nextOf(protocol.TypeMsg); msg.ID != "b-1" || msg.Seq != joined.Head+1 {
		t.Fatalf("alice got %+v; want bob's message at seq %d", msg, joined.Head+1)
	}
	state := nodeState(t, srv)
	if state.Counters.Fetches != fetches || len(state.Rooms) != 1 || state.Rooms[0].Room != "lobby" {
		t.Fatalf("fetches %d (was %d), rooms %+v; want no fetch and lobby alone", state.Counters.Fetches, fetches, state.Rooms)
	}
}

// A resume from a since beyond the room's head (within range) is taken as
// seqs of a history that is not this one: once a fetch confirmed the head
// (the node may be behind Redis), the member gets a reset to the oldest seq
// held and the replay from there, then live messages.
func TestResumeBeyondTheHeadResetsAndReplays(t *testing.T) {
	m := miniredis.RunT(t)
	srv := startNode(t, m, "a", nil)
	alice := dial(t, srv, "token="+token(t, "alice"))
	epoch := alice.join("hist").Epoch
	for i := 1; i <= 3; i++ {
		alice.write(protocol.Send{Type: protocol.TypeSend, Room: "hist", ID: fmt.Sprint(i), Body: "b"})
		alice.nextOf(protocol.TypeAck)
	}
	carol := dial(t, srv, "token="+token(t, "carol"))
	carol.writeRaw(websocket.TextMessage, []byte(`{"type":"join","room":"hist","since":9007199254740991,"epoch":"`+epoch+`"}`))
	if joined := carol.next(); joined.Type != protocol.TypeJoined || joined.Head != 3 || joined.Epoch != epoch {
		t.Fatalf("got %+v; want joined at head 3 of epoch %s", joined, epoch)
	}
	if reset := carol.next(); reset.Type != protocol.TypeReset || reset.FromSeq != 1 || reset.Epoch != epoch {
		t.Fatalf("got %+v; want reset from 1", reset)
	}
	alice.write(protocol.Send{Type: protocol.TypeSend, Room: "hist", ID: "4", Body: "b"})
	for seq := uint64(1); seq <= 4; seq++ {
		if msg := carol.next(); msg.Type != protocol.TypeMsg || msg.Seq != seq {
			t.Fatalf("got %+v; want msg %d", msg, seq)
		}
	}
}
