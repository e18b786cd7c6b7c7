package client

import (
	"slices"
	"testing"

	"chatlab/system/protocol"
)

func TestRetryableRefusalsResendTheSameIDLater(t *testing.T) {
	for _, code := range []protocol.Code{protocol.CodeUnavailable, protocol.CodeRateLimited} {
		t.Run(string(code), func(t *testing.T) {
			c := newClient(t, Config{ResendAfterMs: 1000})
			c.Join("lobby")
			connect(t, c, 0)
			c.Tick(100)
			id := mustSend(t, c, "lobby", "hello")
			c.Ready()
			c.Tick(150)
			c.Receive(errorFrame(code, id))
			rd := c.Ready()
			sameKinds(t, rd.Events, KindError)
			if e := rd.Events[0]; e.Code != code || e.ID != id || e.Room != "lobby" {
				t.Fatalf("error event %+v", e)
			}
			at, ok := c.Deadline()
			if !ok || at < 150+500 || at > 150+1000 {
				t.Fatalf("retry at %d, want within [650, 1150]", at)
			}
			c.Tick(at)
			resent := inbound(t, c.Ready().Frames)
			if len(resent) != 1 || resent[0].ID != id {
				t.Fatalf("retry wrote %+v", resent)
			}
			if s := c.Snapshot(); len(s.Pending) != 1 || s.Pending[0].Attempts != 2 {
				t.Fatalf("snapshot %+v", s)
			}
		})
	}
}

func TestPermanentRefusalFailsTheSend(t *testing.T) {
	c := newClient(t, Config{})
	c.Join("lobby")
	connect(t, c, 0)
	id := mustSend(t, c, "lobby", "hello")
	c.Ready()
	c.Receive(errorFrame(protocol.CodeNotMember, id))
	rd := c.Ready()
	sameKinds(t, rd.Events, KindSendFailed)
	if e := rd.Events[0]; e.ID != id || e.Room != "lobby" || e.Code != protocol.CodeNotMember || e.Message != "test" {
		t.Fatalf("send failed event %+v", e)
	}
	if s := c.Snapshot(); len(s.Pending) != 0 || s.Counters.SendsFailed != 1 {
		t.Fatalf("snapshot %+v", s)
	}
	if _, ok := c.Deadline(); ok {
		t.Fatal("a failed send still has a resend deadline")
	}
}

func TestErrorsNotAboutAPendingSendAreReported(t *testing.T) {
	c := newClient(t, Config{})
	c.Join("lobby")
	connect(t, c, 0)
	id := mustSend(t, c, "lobby", "hello")
	c.Receive(ackFrame("lobby", id, 1))
	c.Ready()
	c.Receive(errorFrame(protocol.CodeTooManyRooms, "lobby"))
	c.Receive(errorFrame(protocol.CodeRateLimited, id))
	c.Receive(errorFrame(protocol.CodeBadJSON, ""))
	rd := c.Ready()
	sameKinds(t, rd.Events, KindError, KindError, KindError)
	if rd.Events[0].ID != "lobby" || rd.Events[0].Code != protocol.CodeTooManyRooms || rd.Events[1].ID != id {
		t.Fatalf("error events %+v", rd.Events)
	}
	if len(rd.Frames) != 0 {
		t.Fatalf("errors made the client write %+v", rd.Frames)
	}
	if s := c.Snapshot(); s.Counters.Errors != 3 || s.Counters.SendsFailed != 0 {
		t.Fatalf("snapshot %+v", s)
	}
}

func TestDrainingHoldsSendsAndClosesIfTheNodeDoesNot(t *testing.T) {
	c := newClient(t, Config{Random: fixedRandom, ReconnectJitterMs: 250})
	c.Join("lobby")
	connect(t, c, 0)
	c.Tick(1000)
	first := mustSend(t, c, "lobby", "before")
	c.Ready()
	c.Receive(errorFrame(protocol.CodeDraining, first))
	second := mustSend(t, c, "lobby", "during")
	rd := c.Ready()
	sameKinds(t, rd.Events, KindError, KindSent)
	if len(rd.Frames) != 0 {
		t.Fatalf("wrote %+v to a draining node", inbound(t, rd.Frames))
	}
	if s := c.Snapshot(); !s.Draining || len(s.Pending) != 2 {
		t.Fatalf("snapshot %+v", s)
	}
	at, ok := c.Deadline()
	if !ok || at != 1000+drainCloseWaitMs {
		t.Fatalf("deadline %d, want the drain close wait", at)
	}
	c.Tick(at - 1)
	if rd := c.Ready(); rd.Close || len(rd.Frames) != 0 {
		t.Fatalf("before the wait: %+v", rd)
	}
	c.Tick(at)
	if rd := c.Ready(); !rd.Close || len(rd.Frames) != 0 {
		t.Fatalf("after the wait: %+v, want Close", rd)
	}
	// Frames still arriving while the host closes are handled.
	c.Receive(msgFrame("lobby", 1, "x"))
	c.Disconnected(1000)
	redial, _ := c.Deadline()
	if want := at + fixedJitterMs(250); redial != want {
		t.Fatalf("redial at %d, want %d: a drain is a reconnect request", redial, want)
	}
	rd = connect(t, c, redial)
	frames := inbound(t, rd.Frames)
	if len(frames) != 3 || frames[1].ID != first || frames[2].ID != second {
		t.Fatalf("reconnect wrote %+v, want the join then both held sends", frames)
	}
	sameKinds(t, rd.Events, KindConnected, KindResent, KindWelcome)
}

func TestDrainingThenCloseReconnectsFast(t *testing.T) {
	c := newClient(t, Config{Random: fixedRandom, BackoffBaseMs: 1000, BackoffMaxMs: 60000, ReconnectJitterMs: 50})
	connect(t, c, 0)
	c.Receive(errorFrame(protocol.CodeDraining, ""))
	c.Disconnected(1001)
	if at, _ := c.Deadline(); at != fixedJitterMs(50) {
		t.Fatalf("redial at %d, want %d", at, fixedJitterMs(50))
	}
}

// Sends of one room refused together are resent in the order they were
// sent, whatever their random retry times, and a send made meanwhile waits
// behind them; another room's sends are not held. (Before, each refused
// send was resent at its own random time, so the second could reach the
// node first and take the seq ahead of the first.)
func TestRefusedSendsOfARoomAreResentInSendOrder(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		c := newClient(t, Config{ResendAfterMs: 1000, Random: splitmix64(seed)})
		c.Join("lobby")
		c.Join("side")
		connect(t, c, 0)
		first := mustSend(t, c, "lobby", "one")
		second := mustSend(t, c, "lobby", "two")
		c.Ready()
		c.Tick(100)
		c.Receive(errorFrame(protocol.CodeUnavailable, first))
		c.Receive(errorFrame(protocol.CodeUnavailable, second))
		third := mustSend(t, c, "lobby", "three")
		side := mustSend(t, c, "side", "elsewhere")
		if sent := inbound(t, c.Ready().Frames); len(sent) != 1 || sent[0].ID != side {
			t.Fatalf("seed %d: wrote %+v while lobby's sends wait, want only %s", seed, sent, side)
		}
		var order []string
		for step := 0; step < 10 && len(order) < 3; step++ {
			at, ok := c.Deadline()
			if !ok {
				t.Fatalf("seed %d: no deadline with sends to resend", seed)
			}
			c.Tick(at)
			for _, f := range inbound(t, c.Ready().Frames) {
				if f.Room == "lobby" {
					order = append(order, f.ID)
				}
			}
		}
		if want := []string{first, second, third}; !slices.Equal(order, want) {
			t.Fatalf("seed %d: resent %v, want %v", seed, order, want)
		}
	}
}

// A send resent for want of an answer takes the later unanswered sends of
// its room along, right behind it: the last time each went out is in send
// order, whatever their timers say. (A reader that stopped reading on local
// slow-consumer seed 1 resent by its timers alone: a send refused by the
// node went out again after a later one, which took the seq ahead of it.)
func TestAnOverdueResendTakesTheLaterSendsOfItsRoomAlong(t *testing.T) {
	c := newClient(t, Config{ResendAfterMs: 1000})
	c.Join("lobby")
	c.Join("side")
	connect(t, c, 0)
	first := mustSend(t, c, "lobby", "one")
	c.Ready()
	c.Tick(600)
	second := mustSend(t, c, "lobby", "two")
	mustSend(t, c, "side", "elsewhere")
	c.Ready()
	c.Tick(1000) // first is overdue; second and side are not
	var ids []string
	for _, f := range inbound(t, c.Ready().Frames) {
		ids = append(ids, f.ID)
	}
	if want := []string{first, second}; !slices.Equal(ids, want) {
		t.Fatalf("resent %v, want %v (side's send not due)", ids, want)
	}
}
