package server

import (
	"fmt"
	"strings"
	"testing"

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
