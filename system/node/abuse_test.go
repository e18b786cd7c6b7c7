package node

import (
	"testing"

	"chatlab/system/protocol"
)

func TestEveryFrameTypeSpendsTheFrameAllowance(t *testing.T) {
	h := newHarness(t, Config{FrameBurst: 4, FramesPerSecond: 2})
	h.open(1, "alice")
	h.take(1)
	for range 2 {
		h.frame(1, `{"type":"join","room":"r"}`)
		h.frame(1, `{"type":"leave","room":"r"}`)
	}
	if frames := h.take(1); len(frames) != 0 {
		t.Fatalf("within the burst: %+v", frames)
	}
	h.frame(1, `{"type":"join","room":"r"}`)
	h.frame(1, `{"type":"leave","room":"r"}`)
	frames := h.take(1)
	if len(frames) != 1 || frames[0].Code != protocol.CodeRateLimited {
		t.Fatalf("over the burst: %+v; want one rate_limited, the second refusal unanswered", frames)
	}
	// A second later two frames are allowed again, and the refusals in a
	// row start over.
	h.n.Tick(1000)
	h.frame(1, `{"type":"join","room":"r"}`)
	h.answer()
	if frames := h.take(1); len(frames) != 1 || frames[0].Type != protocol.TypeJoined {
		t.Fatalf("after the refill: %+v", frames)
	}
	if _, closed := h.closes[1]; closed {
		t.Fatal("a client that slowed down was closed")
	}
}

func TestAConnectionThatKeepsOnIsClosedWith4008(t *testing.T) {
	h := newHarness(t, Config{FrameBurst: 4, FramesPerSecond: 2})
	h.open(1, "mallory")
	for range 4 + 3 {
		h.frame(1, `{"type":"leave","room":"r"}`)
	}
	if _, closed := h.closes[1]; closed {
		t.Fatal("closed before FrameBurst refusals in a row")
	}
	h.frame(1, `{"type":"leave","room":"r"}`)
	if code := h.closes[1]; code != protocol.ClosePolicy {
		t.Fatalf("close %d, want %d", code, protocol.ClosePolicy)
	}
	if h.n.counters.PolicyCloses != 1 {
		t.Fatalf("policy closes %d", h.n.counters.PolicyCloses)
	}
}

// A client that keeps sending above its allowance, with frames handled in
// between (so its refusals never come FrameBurst in a row), runs out of
// patience and is closed with 4008; one that keeps to its allowance, or
// goes over it now and then, never is.
func TestASteadyFloodIsClosedWith4008(t *testing.T) {
	const perSecond = 100
	h := newHarness(t, Config{FrameBurst: 200, FramesPerSecond: perSecond})
	h.open(1, "mallory") // twice the allowance, for 20 s
	h.open(2, "alice")   // at the allowance, with a burst over it each 5 s
	closedAtMs := int64(-1)
	for ms := int64(0); ms < 20_000; ms += 5 {
		h.n.Tick(ms)
		if _, closed := h.closes[1]; !closed {
			h.frame(1, `{"type":"leave","room":"r"}`)
			if _, closed := h.closes[1]; closed {
				closedAtMs = ms
			}
		}
		if ms%(1000/perSecond) == 0 {
			h.frame(2, `{"type":"leave","room":"r"}`)
		}
		if ms%5000 == 0 {
			for range 30 {
				h.frame(2, `{"type":"leave","room":"r"}`)
			}
		}
	}
	if code := h.closes[1]; code != protocol.ClosePolicy {
		t.Fatalf("the steady flood: close %d, want %d", code, protocol.ClosePolicy)
	}
	if closedAtMs > 5000 {
		t.Errorf("the steady flood was closed at %d ms; want within 5 s", closedAtMs)
	}
	if code, closed := h.closes[2]; closed {
		t.Fatalf("the client at its allowance was closed with %d", code)
	}
}

func TestOneUserHasItsShareOfBrokerCalls(t *testing.T) {
	h := newHarness(t, Config{BrokerCallsPerUserMax: 2})
	h.open(1, "mallory")
	h.open(2, "alice")
	h.take(1)
	// Two new rooms: two fetches in flight, the share. A third is refused.
	h.frame(1, `{"type":"join","room":"a"}`)
	h.frame(1, `{"type":"join","room":"b"}`)
	h.frame(1, `{"type":"join","room":"c"}`)
	frames := h.take(1)
	if len(h.fetches) != 2 || len(frames) != 1 || frames[0].Code != protocol.CodeRateLimited || frames[0].Ref != "c" {
		t.Fatalf("fetches %d, frames %+v; want 2 and rate_limited for c", len(h.fetches), frames)
	}
	// Another user has a share of its own; another connection of the
	// same user does not.
	h.open(3, "mallory")
	h.take(3)
	h.frame(3, `{"type":"join","room":"e"}`)
	if frames := h.take(3); len(h.fetches) != 2 || len(frames) != 1 || frames[0].Code != protocol.CodeRateLimited {
		t.Fatalf("mallory's second connection: fetches %d, frames %+v", len(h.fetches), frames)
	}
	h.frame(2, `{"type":"join","room":"d"}`)
	if len(h.fetches) != 3 {
		t.Fatalf("alice's join was held by mallory's share: %d fetches", len(h.fetches))
	}
	// Replies free the share.
	h.answer()
	h.take(1)
	h.frame(1, `{"type":"join","room":"c"}`)
	h.answer()
	if frames := h.take(1); len(frames) != 1 || frames[0].Type != protocol.TypeJoined || frames[0].Room != "c" {
		t.Fatalf("after the replies: %+v", frames)
	}
}

// A node given no limits has the abuse limits on, at their defaults: a
// join/leave flood of one connection is refused past the frame burst and
// closed with 4008, and one user's joins of new rooms stop at its share of
// broker calls. (A default of "off" would leave every node started without
// the flags open to issue 11's join flood.)
func TestTheAbuseLimitsAreOnByDefault(t *testing.T) {
	h := newHarness(t, Config{})
	h.open(1, "mallory")
	h.take(1)
	for i := range BrokerCallsPerUserMaxDefault + 1 { // within the frame burst
		h.frame(1, `{"type":"join","room":"r%d"}`, i)
		h.frame(1, `{"type":"leave","room":"r%d"}`, i)
	}
	var frames []protocol.Outbound
	for _, f := range h.take(1) {
		if f.Type == protocol.TypeError {
			frames = append(frames, f)
		}
	}
	if len(h.fetches) != BrokerCallsPerUserMaxDefault || len(frames) < 1 || frames[0].Code != protocol.CodeRateLimited {
		t.Fatalf("fetches %d, frames %+v; want %d and one rate_limited", len(h.fetches), frames, BrokerCallsPerUserMaxDefault)
	}
	for range 2 * FrameBurstDefault {
		if _, closed := h.closes[1]; closed {
			break
		}
		h.frame(1, `{"type":"leave","room":"gone"}`)
	}
	if code := h.closes[1]; code != protocol.ClosePolicy {
		t.Fatalf("a flood of %d frames at once: close %d, want %d", 2*FrameBurstDefault, code, protocol.ClosePolicy)
	}
}
