package client

import (
	"testing"

	"chatlab/system/protocol"
)

func TestBackoffCeilingGrowsAndCaps(t *testing.T) {
	want := []int64{100, 200, 400, 800, 1600, 3200, 5000, 5000}
	for i, w := range want {
		if got := backoffCeilingMs(100, 5000, i+1); got != w {
			t.Fatalf("ceiling after %d failures = %d, want %d", i+1, got, w)
		}
	}
	if got := backoffCeilingMs(100, 5000, 1<<30); got != 5000 {
		t.Fatalf("ceiling after 2^30 failures = %d, want the cap", got)
	}
}

// failDials runs n failed dials and returns each redial delay.
func failDials(t *testing.T, c *Client, n int) []int64 {
	t.Helper()
	nowMs := int64(0)
	var delays []int64
	for range n {
		c.Tick(nowMs)
		if !c.Ready().Dial {
			t.Fatalf("at %d ms: no dial", nowMs)
		}
		c.DialFailed()
		at, ok := c.Deadline()
		if !ok {
			t.Fatal("no redial after a failed dial")
		}
		delays = append(delays, at-nowMs)
		nowMs = at
	}
	return delays
}

func TestBackoffJitterIsBoundedAndDeterministic(t *testing.T) {
	const dials = 200
	cfg := Config{BackoffBaseMs: 100, BackoffMaxMs: 5000, Random: splitmix64(42)}
	delays := failDials(t, newClient(t, cfg), dials)
	var sawAboveHalfCap, sawBelowHalfCeiling bool
	for i, d := range delays {
		ceiling := backoffCeilingMs(100, 5000, i+1)
		if d < 0 || d > ceiling {
			t.Fatalf("delay %d after %d failures is outside [0, %d]", d, i+1, ceiling)
		}
		sawAboveHalfCap = sawAboveHalfCap || d > 2500
		sawBelowHalfCeiling = sawBelowHalfCeiling || (ceiling == 5000 && d < 2500)
	}
	if !sawAboveHalfCap || !sawBelowHalfCeiling {
		t.Fatalf("delays are not spread over [0, cap]: %v", delays)
	}
	cfg.Random = splitmix64(42)
	again := failDials(t, newClient(t, cfg), dials)
	for i := range delays {
		if delays[i] != again[i] {
			t.Fatalf("same seed, different delay at %d: %d vs %d", i, delays[i], again[i])
		}
	}
	cfg.Random = splitmix64(43)
	other := failDials(t, newClient(t, cfg), dials)
	same := 0
	for i := range delays {
		if delays[i] == other[i] {
			same++
		}
	}
	if same == dials {
		t.Fatal("another seed gave the very same delays: jitter ignores Random")
	}
	if s := newClient(t, cfg).Snapshot(); s.Failures != 0 {
		t.Fatalf("fresh client has failures %d", s.Failures)
	}
}

// fixedRandom makes every jittered delay a known function of its ceiling.
func fixedRandom() uint64 { return 1_000_003 }

func fixedJitterMs(ceilingMs int64) int64 { return int64(fixedRandom() % uint64(ceilingMs+1)) }

func TestBackoffStartsOverAfterAWelcome(t *testing.T) {
	c := newClient(t, Config{})
	failDials(t, c, 5)
	if s := c.Snapshot(); s.Failures != 5 {
		t.Fatalf("failures %d, want 5", s.Failures)
	}
	at, _ := c.Deadline()
	connect(t, c, at)
	if s := c.Snapshot(); s.Failures != 0 {
		t.Fatalf("failures %d after a welcome, want 0", s.Failures)
	}
	c.Disconnected(1006)
	if s := c.Snapshot(); s.Failures != 1 {
		t.Fatalf("failures %d after one drop, want 1", s.Failures)
	}
}

func TestDropWithoutWelcomeKeepsBackingOff(t *testing.T) {
	c := newClient(t, Config{Random: fixedRandom, BackoffBaseMs: 100, BackoffMaxMs: 5000})
	for i, ceilingMs := range []int64{100, 200, 400} {
		at, _ := c.Deadline()
		c.Tick(at)
		c.Ready()
		c.Connected()
		// Closed with 4000 before any welcome: a draining node refusing
		// us. Redialing fast would hammer it, so it counts as a failure.
		c.Disconnected(protocol.CloseReconnect)
		next, _ := c.Deadline()
		if want := fixedJitterMs(ceilingMs); next-at != want {
			t.Fatalf("drop %d: waited %d ms, want %d (ceiling %d)", i+1, next-at, want, ceilingMs)
		}
		if s := c.Snapshot(); s.Failures != i+1 {
			t.Fatalf("drop %d: failures %d", i+1, s.Failures)
		}
	}
}

func TestCloseReconnectRedialsFast(t *testing.T) {
	c := newClient(t, Config{Random: fixedRandom, ReconnectJitterMs: 250, BackoffBaseMs: 1000, BackoffMaxMs: 60000})
	failDials(t, c, 6)
	at, _ := c.Deadline()
	connect(t, c, at)
	c.Tick(at + 10)
	c.Disconnected(protocol.CloseReconnect)
	next, ok := c.Deadline()
	if want := at + 10 + fixedJitterMs(250); !ok || next != want {
		t.Fatalf("redial at %d, want %d (jitter within ReconnectJitterMs, not the backoff)", next, want)
	}
	if s := c.Snapshot(); s.Failures != 0 {
		t.Fatalf("a reconnect request counted as a failure: %d", s.Failures)
	}
	c.Tick(next - 1)
	if c.Ready().Dial {
		t.Fatal("dialed before the deadline")
	}
	c.Tick(next)
	if !c.Ready().Dial {
		t.Fatal("no dial at the deadline")
	}
}

func TestCloseReconnectJitterIsSpread(t *testing.T) {
	c := newClient(t, Config{Random: splitmix64(7), ReconnectJitterMs: 250})
	nowMs := int64(0)
	seen := map[int64]bool{}
	for range 50 {
		connect(t, c, nowMs)
		c.Disconnected(protocol.CloseReconnect)
		at, _ := c.Deadline()
		if at-nowMs < 0 || at-nowMs > 250 {
			t.Fatalf("fast redial after %d ms, outside [0, 250]", at-nowMs)
		}
		seen[at-nowMs] = true
		nowMs = at
	}
	if len(seen) < 10 {
		t.Fatalf("only %d distinct fast-redial delays in 50: jitter is not spreading", len(seen))
	}
}

// A close for an expired token redials soon, asks the host for a fresh
// token on that dial only, and resumes every room with since.
func TestTokenExpiredRedialsWithAFreshToken(t *testing.T) {
	c := newClient(t, Config{Random: fixedRandom, ReconnectJitterMs: 250, BackoffBaseMs: 1000, BackoffMaxMs: 60000})
	if rd := connect(t, c, 0); rd.FreshToken {
		t.Fatal("the first dial asked for a fresh token")
	}
	if err := c.Join("r"); err != nil {
		t.Fatal(err)
	}
	c.Ready()
	c.Receive(joinedFrame("r", 4, "e1"))
	c.Receive(msgFrame("r", 5, "x-1"))
	c.Ready()
	c.Tick(100)
	c.Disconnected(protocol.CloseTokenExpired)
	next, ok := c.Deadline()
	if want := 100 + fixedJitterMs(250); !ok || next != want {
		t.Fatalf("redial at %d, want %d (the short reconnect delay)", next, want)
	}
	c.Tick(next)
	rd := c.Ready()
	if !rd.Dial || !rd.FreshToken {
		t.Fatalf("redial after 4001: %+v; want Dial with FreshToken", rd)
	}
	c.Connected()
	joins := inbound(t, c.Ready().Frames)
	if len(joins) != 1 || joins[0].Room != "r" || !joins[0].HasSince || joins[0].Since != 5 || joins[0].Epoch != "e1" {
		t.Fatalf("rejoin %+v; want r since 5 in e1", joins)
	}
	// A later ordinary drop keeps the token.
	c.Disconnected(1006)
	at, _ := c.Deadline()
	c.Tick(at)
	if rd := c.Ready(); !rd.Dial || rd.FreshToken {
		t.Fatalf("redial after a drop: %+v; want Dial without FreshToken", rd)
	}
}
