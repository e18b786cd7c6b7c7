package node

import (
	"testing"

	"chatlab/system/protocol"
)

func TestAJoinOutsideTheGrantIsForbiddenAndTheConnectionGoesOn(t *testing.T) {
	h := newHarness(t, Config{})
	h.n.OpenAccess(1, Access{User: "alice", Rooms: []string{"lobby", "team-*"}})
	h.collect()
	h.take(1)
	h.frame(1, `{"type":"join","room":"admin"}`)
	frames := h.take(1)
	if len(frames) != 1 || frames[0].Code != protocol.CodeForbidden || frames[0].Ref != "admin" {
		t.Fatalf("join of an ungranted room: %+v; want one forbidden error naming it", frames)
	}
	if h.subscribed["admin"] {
		t.Fatal("a forbidden join subscribed its room")
	}
	for _, room := range []string{"lobby", "team-red"} {
		h.frame(1, `{"type":"join","room":%q}`, room)
		h.answer()
		if frames := h.take(1); len(frames) != 1 || frames[0].Type != protocol.TypeJoined {
			t.Fatalf("join of granted %s: %+v", room, frames)
		}
	}
	h.frame(1, `{"type":"send","room":"admin","id":"a-1","body":"x"}`)
	if frames := h.take(1); len(frames) != 1 || frames[0].Code != protocol.CodeNotMember {
		t.Fatalf("send in the forbidden room: %+v; want not_member", frames)
	}
	if _, closed := h.closes[1]; closed {
		t.Fatal("a forbidden join closed the connection")
	}
}

func TestNoGrantJoinsNothingAndAnyRoomJoinsAll(t *testing.T) {
	h := newHarness(t, Config{})
	h.n.OpenAccess(1, Access{User: "alice"})
	h.open(2, "bob")
	h.take(1)
	h.take(2)
	h.frame(1, `{"type":"join","room":"r"}`)
	if frames := h.take(1); len(frames) != 1 || frames[0].Code != protocol.CodeForbidden {
		t.Fatalf("join without a grant: %+v; want forbidden", frames)
	}
	h.frame(2, `{"type":"join","room":"r"}`)
	h.answer()
	if frames := h.take(2); len(frames) != 1 || frames[0].Type != protocol.TypeJoined {
		t.Fatalf("Open grants every room: %+v", frames)
	}
}
