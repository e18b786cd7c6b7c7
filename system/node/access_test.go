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

func TestExpiredCredentialsCloseTheConnectionWith4001(t *testing.T) {
	h := newHarness(t, Config{})
	h.n.Tick(1000)
	h.n.OpenAccess(1, Access{User: "alice", AnyRoom: true, ExpiresAtMs: 3000})
	h.n.OpenAccess(2, Access{User: "bob", AnyRoom: true, ExpiresAtMs: 5000})
	h.open(3, "carol") // no expiry
	h.frame(1, `{"type":"join","room":"r"}`)
	h.answer()
	h.n.Tick(2999)
	h.collect()
	if len(h.closes) != 0 {
		t.Fatalf("closed before expiry: %v", h.closes)
	}
	h.n.Tick(3000)
	h.collect()
	if code, closed := h.closes[1]; !closed || code != protocol.CloseTokenExpired || len(h.closes) != 1 {
		t.Fatalf("at alice's expiry: closes %v; want only alice's, with %d", h.closes, protocol.CloseTokenExpired)
	}
	if h.subscribed["r"] {
		t.Fatal("the expired connection's room is still followed")
	}
	h.n.Tick(5000)
	h.collect()
	if code := h.closes[2]; code != protocol.CloseTokenExpired || len(h.closes) != 2 {
		t.Fatalf("at bob's expiry: closes %v", h.closes)
	}
	// Credentials already expired on arrival are refused at once.
	h.n.OpenAccess(4, Access{User: "dave", AnyRoom: true, ExpiresAtMs: 4000})
	h.collect()
	if code := h.closes[4]; code != protocol.CloseTokenExpired {
		t.Fatalf("open with expired credentials: close %d", code)
	}
	h.n.Tick(1 << 40)
	h.collect()
	if _, closed := h.closes[3]; closed {
		t.Fatal("a connection without an expiry was closed")
	}
}
