package client

import (
	"encoding/json"
	"errors"
	"strconv"
	"testing"

	"chatlab/system/protocol"
)

func TestNewClientDialsFirst(t *testing.T) {
	c := newClient(t, Config{})
	rd := c.Ready()
	if !rd.Dial || rd.Close || len(rd.Frames) != 0 {
		t.Fatalf("first Ready = %+v, want only Dial", rd)
	}
	if rd := c.Ready(); rd.Dial {
		t.Fatal("Ready asked to dial twice for one dial")
	}
	if _, ok := c.Deadline(); ok {
		t.Fatal("a dialing client has a deadline; it waits for the host")
	}
}

func TestFirstJoinOmitsSinceAndResumeCarriesIt(t *testing.T) {
	c := newClient(t, Config{})
	if err := c.Join("lobby"); err != nil {
		t.Fatal(err)
	}
	rd := connect(t, c, 0)
	sameKinds(t, rd.Events, KindConnected, KindWelcome)
	joins := inbound(t, rd.Frames)
	if len(joins) != 1 || joins[0].Type != protocol.TypeJoin || joins[0].Room != "lobby" || joins[0].HasSince || joins[0].Epoch != "" {
		t.Fatalf("first connection wrote %+v, want one join of lobby without since or epoch", joins)
	}
	c.Receive(joinedFrame("lobby", 5, "e1"))
	c.Receive(msgFrame("lobby", 6, "x-1"))
	c.Receive(msgFrame("lobby", 7, "x-2"))
	c.Ready()

	c.Tick(100)
	c.Disconnected(1006)
	rd = c.Ready()
	sameKinds(t, rd.Events, KindDisconnected)
	if rd.Events[0].CloseCode != 1006 || rd.Events[0].Node != "n1" || rd.Events[0].AtMs != 100 {
		t.Fatalf("disconnected event = %+v", rd.Events[0])
	}
	at, ok := c.Deadline()
	if !ok {
		t.Fatal("no redial scheduled after a drop")
	}
	rd = connect(t, c, at)
	joins = inbound(t, rd.Frames)
	if len(joins) != 1 || !joins[0].HasSince || joins[0].Since != 7 || joins[0].Epoch != "e1" {
		t.Fatalf("resume wrote %+v, want join lobby since 7 epoch e1", joins)
	}
	if s := c.Snapshot(); s.Reconnects != 1 || !s.Connected || s.Node != "n1" {
		t.Fatalf("snapshot after reconnect = %+v", s)
	}
}

func TestJoinBeforeAnyJoinedHasNoSinceOnRetry(t *testing.T) {
	c := newClient(t, Config{})
	c.Join("lobby")
	connect(t, c, 0)
	c.Disconnected(1006)
	at, _ := c.Deadline()
	joins := inbound(t, connect(t, c, at).Frames)
	if len(joins) != 1 || joins[0].HasSince {
		t.Fatalf("rejoin before any joined wrote %+v, want no since", joins)
	}
}

func TestJoinsInNameOrderThenPendingSendsInIDOrder(t *testing.T) {
	c := newClient(t, Config{})
	for _, room := range []string{"zeta", "alpha", "mid"} {
		if err := c.Join(room); err != nil {
			t.Fatal(err)
		}
	}
	first := mustSend(t, c, "zeta", "one")
	second := mustSend(t, c, "alpha", "two")
	rd := c.Ready()
	if len(rd.Frames) != 0 {
		t.Fatalf("wrote %d frames before connecting", len(rd.Frames))
	}
	sameKinds(t, rd.Events, KindSent, KindSent)
	c.Connected()
	frames := inbound(t, c.Ready().Frames)
	want := []struct{ typ, room, id string }{
		{protocol.TypeJoin, "alpha", ""}, {protocol.TypeJoin, "mid", ""}, {protocol.TypeJoin, "zeta", ""},
		{protocol.TypeSend, "zeta", first}, {protocol.TypeSend, "alpha", second},
	}
	if len(frames) != len(want) {
		t.Fatalf("connect wrote %+v", frames)
	}
	for i, w := range want {
		if frames[i].Type != w.typ || frames[i].Room != w.room || frames[i].ID != w.id {
			t.Fatalf("frame %d = %+v, want %+v", i, frames[i], w)
		}
	}
	if first != "c1-1" || second != "c1-2" {
		t.Fatalf("ids %q %q, want c1-1 c1-2", first, second)
	}
}

func TestResendAfterTimeoutKeepsTheID(t *testing.T) {
	c := newClient(t, Config{ResendAfterMs: 1000})
	c.Join("lobby")
	connect(t, c, 0)
	c.Tick(10)
	id := mustSend(t, c, "lobby", "hello")
	sent := inbound(t, c.Ready().Frames)
	if len(sent) != 1 || sent[0].ID != id || sent[0].Body != "hello" {
		t.Fatalf("send wrote %+v", sent)
	}
	if at, ok := c.Deadline(); !ok || at != 1010 {
		t.Fatalf("deadline = %d %v, want 1010", at, ok)
	}
	c.Tick(1009)
	if rd := c.Ready(); len(rd.Frames) != 0 {
		t.Fatalf("resent before ResendAfterMs: %+v", rd)
	}
	c.Tick(1010)
	rd := c.Ready()
	resent := inbound(t, rd.Frames)
	if len(resent) != 1 || resent[0].ID != id || resent[0].Body != "hello" {
		t.Fatalf("resend wrote %+v, want the same id", resent)
	}
	sameKinds(t, rd.Events, KindResent)
	if rd.Events[0].ID != id || rd.Events[0].AtMs != 1010 {
		t.Fatalf("resent event = %+v", rd.Events[0])
	}
	if at, _ := c.Deadline(); at != 2010 {
		t.Fatalf("next deadline = %d, want 2010", at)
	}
}

func TestResendOnReconnectCountsAsResent(t *testing.T) {
	c := newClient(t, Config{})
	c.Join("lobby")
	connect(t, c, 0)
	id := mustSend(t, c, "lobby", "hello")
	c.Ready()
	c.Disconnected(1001)
	if _, ok := c.Deadline(); !ok {
		t.Fatal("no redial")
	}
	at, _ := c.Deadline()
	rd := connect(t, c, at)
	sameKinds(t, rd.Events, KindConnected, KindResent, KindWelcome)
	frames := inbound(t, rd.Frames)
	if len(frames) != 2 || frames[1].ID != id {
		t.Fatalf("reconnect wrote %+v, want join then the resend of %s", frames, id)
	}
}

func TestAckCompletesAndDuplicateAckIsCounted(t *testing.T) {
	c := newClient(t, Config{})
	c.Join("lobby")
	connect(t, c, 0)
	id := mustSend(t, c, "lobby", "hello")
	c.Ready()
	c.Tick(50)
	c.Receive(ackFrame("lobby", id, 9))
	rd := c.Ready()
	sameKinds(t, rd.Events, KindAcked)
	if e := rd.Events[0]; e.ID != id || e.Seq != 9 || e.Room != "lobby" || e.AtMs != 50 {
		t.Fatalf("acked event = %+v", e)
	}
	if _, ok := c.Deadline(); ok {
		t.Fatal("a deadline remains with nothing pending")
	}
	c.Receive(ackFrame("lobby", id, 9))
	if rd := c.Ready(); len(rd.Events) != 0 {
		t.Fatalf("duplicate ack produced %+v", rd.Events)
	}
	s := c.Snapshot()
	if len(s.Pending) != 0 || s.Counters.DuplicateAcks != 1 {
		t.Fatalf("snapshot = %+v", s)
	}
}

func TestSendAttemptsAreBounded(t *testing.T) {
	c := newClient(t, Config{ResendAfterMs: 100, SendAttemptsMax: 3})
	c.Join("lobby")
	connect(t, c, 0)
	id := mustSend(t, c, "lobby", "hello")
	c.Ready()
	c.Tick(100)
	c.Tick(200)
	if got := len(c.Ready().Frames); got != 2 {
		t.Fatalf("%d resends, want 2", got)
	}
	c.Tick(300)
	rd := c.Ready()
	sameKinds(t, rd.Events, KindSendFailed)
	if rd.Events[0].ID != id || len(rd.Frames) != 0 {
		t.Fatalf("after 3 attempts: %+v", rd)
	}
	if s := c.Snapshot(); len(s.Pending) != 0 || s.Counters.SendsFailed != 1 || s.Counters.Resends != 2 {
		t.Fatalf("snapshot = %+v", s)
	}
}

func TestPendingSendsBound(t *testing.T) {
	c := newClient(t, Config{PendingSendsMax: 2})
	c.Join("lobby")
	connect(t, c, 0)
	first := mustSend(t, c, "lobby", "a")
	mustSend(t, c, "lobby", "b")
	if _, err := c.Send("lobby", "c"); !errors.Is(err, ErrPendingSendsFull) {
		t.Fatalf("third send: err %v, want ErrPendingSendsFull", err)
	}
	c.Receive(ackFrame("lobby", first, 1))
	if id := mustSend(t, c, "lobby", "c"); id != "c1-3" {
		t.Fatalf("send after an ack got id %q, want c1-3 (a refused send takes no id)", id)
	}
}

func TestSendValidation(t *testing.T) {
	c := newClient(t, Config{})
	c.Join("lobby")
	long := make([]byte, protocol.BodyBytesMax+1)
	for i := range long {
		long[i] = 'x'
	}
	cases := []struct {
		room, body string
		want       error
	}{
		{"elsewhere", "hi", ErrNotJoined},
		{"lobby", "", ErrEmptyBody},
		{"lobby", string(long), ErrBodyTooLong},
	}
	for _, tc := range cases {
		if _, err := c.Send(tc.room, tc.body); !errors.Is(err, tc.want) {
			t.Errorf("Send(%q, %d bytes) = %v, want %v", tc.room, len(tc.body), err, tc.want)
		}
	}
	if rd := c.Ready(); len(rd.Events) != 0 {
		t.Fatalf("refused sends produced events %+v", rd.Events)
	}
}

func TestJoinValidationAndLimit(t *testing.T) {
	c := newClient(t, Config{})
	if err := c.Join("bad room"); err == nil {
		t.Fatal("join of an invalid room name was accepted")
	}
	for i := range protocol.RoomsPerConnectionMax {
		if err := c.Join("r" + strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Join("one-more"); !errors.Is(err, ErrTooManyRooms) {
		t.Fatalf("join beyond the limit: %v", err)
	}
	if err := c.Join("r0"); err != nil {
		t.Fatalf("repeated join: %v", err)
	}
}

func TestRepeatedJoinWritesNothing(t *testing.T) {
	c := newClient(t, Config{})
	connect(t, c, 0)
	c.Join("lobby")
	c.Join("lobby")
	if frames := inbound(t, c.Ready().Frames); len(frames) != 1 {
		t.Fatalf("two joins of one room wrote %+v", frames)
	}
}

func TestLeaveWritesLeaveAndDropsLateFrames(t *testing.T) {
	c := newClient(t, Config{})
	c.Join("lobby")
	c.Join("side")
	connect(t, c, 0)
	c.Leave("lobby")
	c.Leave("never-joined")
	frames := inbound(t, c.Ready().Frames)
	if len(frames) != 1 || frames[0].Type != protocol.TypeLeave || frames[0].Room != "lobby" {
		t.Fatalf("leave wrote %+v", frames)
	}
	c.Receive(msgFrame("lobby", 3, "x-1"))
	if rd := c.Ready(); len(rd.Events) != 0 {
		t.Fatalf("a msg of a left room produced %+v", rd.Events)
	}
	s := c.Snapshot()
	if s.Counters.StrayFrames != 1 || len(s.Rooms) != 1 || s.Rooms[0].Room != "side" {
		t.Fatalf("snapshot = %+v", s)
	}
}

func TestSnapshotIsOrderedAndMarshals(t *testing.T) {
	c := newClient(t, Config{})
	for _, room := range []string{"c", "a", "b"} {
		c.Join(room)
	}
	connect(t, c, 0)
	c.Receive(joinedFrame("b", 4, "e"))
	mustSend(t, c, "c", "1")
	mustSend(t, c, "a", "2")
	s := c.Snapshot()
	if s.Rooms[0].Room != "a" || s.Rooms[1].Room != "b" || s.Rooms[2].Room != "c" {
		t.Fatalf("rooms out of order: %+v", s.Rooms)
	}
	if !s.Rooms[1].Joined || s.Rooms[1].LastSeq != 4 || s.Rooms[1].Head != 4 || s.Rooms[0].Joined {
		t.Fatalf("room state: %+v", s.Rooms)
	}
	if s.Pending[0].ID != "c1-1" || s.Pending[1].ID != "c1-2" || !s.Pending[0].InFlight {
		t.Fatalf("pending: %+v", s.Pending)
	}
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Snapshot
	if err := json.Unmarshal(data, &back); err != nil || back.Rooms[1].LastSeq != 4 || back.State != "connected" {
		t.Fatalf("snapshot round trip: %v %+v", err, back)
	}
}

func TestHostOrderViolationsPanic(t *testing.T) {
	cases := map[string]func(c *Client){
		"connected twice":            func(c *Client) { c.Connected(); c.Connected() },
		"disconnected while dialing": func(c *Client) { c.Disconnected(1006) },
		"receive while dialing":      func(c *Client) { c.Receive(msgFrame("a", 1, "x")) },
		"dial failed when connected": func(c *Client) { c.Connected(); c.DialFailed() },
		"clock going back":           func(c *Client) { c.Tick(10); c.Tick(9) },
	}
	for name, misuse := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			misuse(newClient(t, Config{}))
		})
	}
}

func TestConfigChecks(t *testing.T) {
	cases := map[string]Config{
		"no random":      {Name: "c"},
		"no name":        {Random: splitmix64(1)},
		"name too long":  {Name: string(make([]byte, protocol.IDBytesMax)), Random: splitmix64(1)},
		"max below base": {Name: "c", Random: splitmix64(1), BackoffBaseMs: 500, BackoffMaxMs: 100},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			New(cfg)
		})
	}
}

func TestEventsMarshalForTheRecorder(t *testing.T) {
	e := Event{Kind: KindDelivered, AtMs: 12, Room: "lobby", Seq: 3, ID: "c1-1", From: "bob", Body: "hi", Duplicate: true}
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"delivered","at_ms":12,"room":"lobby","seq":3,"id":"c1-1","from":"bob","body":"hi","duplicate":true}`
	if string(data) != want {
		t.Fatalf("event JSON = %s, want %s", data, want)
	}
}
