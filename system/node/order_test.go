package node

import (
	"slices"
	"testing"

	"chatlab/system/protocol"
)

// refs lists the id each frame of a kind names (acks by ID, errors by Ref).
func refs(frames []protocol.Outbound, kind string) []string {
	var ids []string
	for _, f := range frames {
		switch {
		case f.Type != kind:
		case kind == protocol.TypeError:
			ids = append(ids, f.Ref)
		default:
			ids = append(ids, f.ID)
		}
	}
	return ids
}

// A sender's second send waits behind its first: when the first publish
// fails, the second fails with it, and a third sent before the client
// heard of it is refused until the first comes again. Resent in order, the
// three take seqs in the order they were sent. (Before, the second was
// published as soon as the first failed, and took the seq ahead of it.)
func TestAFailedPublishFailsTheSendsBehindItAndHoldsTheRoom(t *testing.T) {
	h := newHarness(t, Config{})
	h.member(1, "alice", "r")
	h.frame(1, `{"type":"send","room":"r","id":"a-1","body":"one"}`)
	h.frame(1, `{"type":"send","room":"r","id":"a-2","body":"two"}`)
	if len(h.publishes) != 1 || h.publishes[0].ID != "a-1" {
		t.Fatalf("publishes %+v: want only a-1 in flight", h.publishes)
	}
	h.failPublish()
	h.frame(1, `{"type":"send","room":"r","id":"a-3","body":"three"}`)
	if len(h.publishes) != 0 {
		t.Fatalf("publishes %+v after the first failed: want none", h.publishes)
	}
	if got := refs(h.take(1), protocol.TypeError); !slices.Equal(got, []string{"a-1", "a-2", "a-3"}) {
		t.Fatalf("errors for %v, want a-1, a-2, a-3", got)
	}
	for _, id := range []string{"a-1", "a-2", "a-3"} {
		h.frame(1, `{"type":"send","room":"r","id":"%s","body":"x%s"}`, id, id)
	}
	h.answer()
	frames := h.take(1)
	if got := refs(frames, protocol.TypeError); len(got) != 0 {
		t.Fatalf("errors for %v after the resends", got)
	}
	if got := refs(frames, protocol.TypeAck); !slices.Equal(got, []string{"a-1", "a-2", "a-3"}) {
		t.Fatalf("acks %v, want a-1, a-2, a-3 in order", got)
	}
	for i, msg := range h.store.log["r"] {
		if want := uint64(i + 1); msg.Seq != want || msg.ID != []string{"a-1", "a-2", "a-3"}[i] {
			t.Fatalf("room log %+v: want a-1, a-2, a-3 at seqs 1-3", h.store.log["r"])
		}
	}
}

// A send refused as rate limited holds its room: a later send of the room
// that was already on its way is refused too, and the hold ends when the
// refused send comes again. A client that gave the refused one up ends it
// by resending one refused behind it.
func TestARefusedSendHoldsItsRoomUntilItComesAgain(t *testing.T) {
	h := newHarness(t, Config{RateBurst: 1, RatePerSecond: 1})
	h.member(1, "alice", "r", "q")
	h.frame(1, `{"type":"send","room":"r","id":"a-1","body":"one"}`)
	h.frame(1, `{"type":"send","room":"r","id":"a-2","body":"two"}`) // rate limited
	h.n.Tick(1000)
	h.frame(1, `{"type":"send","room":"r","id":"a-3","body":"three"}`) // a token, but behind a-2
	h.frame(1, `{"type":"send","room":"q","id":"a-4","body":"four"}`)  // another room: not held
	h.answer()
	frames := h.take(1)
	if got := refs(frames, protocol.TypeError); !slices.Equal(got, []string{"a-2", "a-3"}) {
		t.Fatalf("errors for %v, want a-2 (rate limited) and a-3 (held)", got)
	}
	if got := refs(frames, protocol.TypeAck); !slices.Equal(got, []string{"a-1", "a-4"}) {
		t.Fatalf("acks %v, want a-1 and a-4", got)
	}
	h.n.Tick(2000)
	h.frame(1, `{"type":"send","room":"r","id":"a-3","body":"three"}`) // a-2 given up: a-3 ends the hold
	h.answer()
	if got := refs(h.take(1), protocol.TypeAck); !slices.Equal(got, []string{"a-3"}) {
		t.Fatalf("acks %v, want a-3 once the client gave a-2 up", got)
	}
}

// A publish the node gave up on (its broker call timed out) may still land:
// the broker had it, and the message comes back to its sender's
// connection, which takes it as the ack and never sends it again. Its hold
// ends there: a later send of the room is published, not refused for an id
// that will never come again (quiet-rooms sim seed 43: c004-1 refused at
// 7.204 s and landed at seq 3; c004-3, sent 11 s later, was refused behind
// it, then by the next pub/sub break, and reached the room 3.1 s late).
func TestARefusedSendThatLandsEndsItsHold(t *testing.T) {
	h := newHarness(t, Config{})
	h.member(1, "alice", "r")
	h.frame(1, `{"type":"send","room":"r","id":"a-1","body":"one"}`)
	first := h.failPublish()
	_, landed := h.store.publish(first) // it reached the broker after all
	h.n.Message(landed)
	h.collect()
	frames := h.take(1)
	if got := refs(frames, protocol.TypeError); !slices.Equal(got, []string{"a-1"}) {
		t.Fatalf("errors for %v, want a-1", got)
	}
	if got := refs(frames, protocol.TypeMsg); !slices.Equal(got, []string{"a-1"}) {
		t.Fatalf("messages %v, want a-1 (its own, come back)", got)
	}
	h.frame(1, `{"type":"send","room":"r","id":"a-2","body":"two"}`)
	h.answer()
	frames = h.take(1)
	if got := refs(frames, protocol.TypeError); len(got) != 0 {
		t.Fatalf("errors for %v: a-2 refused behind a-1, which landed", got)
	}
	if got := refs(frames, protocol.TypeAck); !slices.Equal(got, []string{"a-2"}) {
		t.Fatalf("acks %v, want a-2", got)
	}
}

// When the held send lands, the sends refused behind it are still owed:
// the hold waits for the first of them, so a send already on its way
// cannot overtake them (redis-flaps sim seed 159: c017-11 timed out with
// c017-12 waiting behind it and landed at seq 56; c017-13, written before
// the client heard, took seq 58 and the resent c017-12 seq 79).
func TestALandedSendHandsItsHoldToTheSendsBehindIt(t *testing.T) {
	h := newHarness(t, Config{})
	h.member(1, "alice", "r")
	h.frame(1, `{"type":"send","room":"r","id":"a-1","body":"one"}`)
	h.frame(1, `{"type":"send","room":"r","id":"a-2","body":"two"}`)
	first := h.failPublish()
	_, landed := h.store.publish(first)
	h.n.Message(landed)
	h.collect()
	h.frame(1, `{"type":"send","room":"r","id":"a-3","body":"three"}`) // on its way before the refusals
	if len(h.publishes) != 0 {
		t.Fatalf("publishes %+v: a-3 went ahead of a-2", h.publishes)
	}
	if got := refs(h.take(1), protocol.TypeError); !slices.Equal(got, []string{"a-1", "a-2", "a-3"}) {
		t.Fatalf("errors for %v, want a-1, a-2, a-3", got)
	}
	for _, id := range []string{"a-2", "a-3"} {
		h.frame(1, `{"type":"send","room":"r","id":"%s","body":"x%s"}`, id, id)
	}
	h.answer()
	if got := refs(h.take(1), protocol.TypeAck); !slices.Equal(got, []string{"a-2", "a-3"}) {
		t.Fatalf("acks %v, want a-2, a-3", got)
	}
	for i, msg := range h.store.log["r"] {
		if want := []string{"a-1", "a-2", "a-3"}[i]; msg.ID != want {
			t.Fatalf("room log %+v: want a-1, a-2, a-3", h.store.log["r"])
		}
	}
}

// A send dropped unread over the frame allowance holds its room like a
// refused one: the next send of the room, arriving once the allowance came
// back, is refused until the dropped one comes again. (A stalled reader's
// resends on local slow-consumer seed 1 went over the allowance, and a
// later send took a seq hundreds ahead of the dropped one.)
func TestASendDroppedOverTheFrameAllowanceHoldsItsRoom(t *testing.T) {
	h := newHarness(t, Config{FrameBurst: 3, FramesPerSecond: 1, RateBurst: 10, RatePerSecond: 10})
	h.member(1, "alice", "r")
	h.n.Tick(3000)
	h.frame(1, `{"type":"send","room":"r","id":"a-1","body":"one"}`)
	h.frame(1, `{"type":"send","room":"r","id":"a-2","body":"two"}`)
	h.frame(1, `{"type":"send","room":"r","id":"a-3","body":"three"}`)
	h.frame(1, `{"type":"send","room":"r","id":"a-4","body":"four"}`) // over the allowance: dropped
	h.n.Tick(5000)
	h.frame(1, `{"type":"send","room":"r","id":"a-5","body":"five"}`)
	h.answer()
	frames := h.take(1)
	if got := refs(frames, protocol.TypeAck); !slices.Equal(got, []string{"a-1", "a-2", "a-3"}) {
		t.Fatalf("acks %v, want a-1..a-3", got)
	}
	if got := refs(frames, protocol.TypeError); !slices.Contains(got, "a-5") {
		t.Fatalf("errors for %v: a-5 went through ahead of the dropped a-4", got)
	}
	h.n.Tick(8000)
	h.frame(1, `{"type":"send","room":"r","id":"a-4","body":"four"}`)
	h.frame(1, `{"type":"send","room":"r","id":"a-5","body":"five"}`)
	h.answer()
	if got := refs(h.take(1), protocol.TypeAck); !slices.Equal(got, []string{"a-4", "a-5"}) {
		t.Fatalf("acks %v after the resends, want a-4, a-5", got)
	}
}
