package broker

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"chatlab/system/node"
	"chatlab/system/protocol"
)

func TestPublishAssignsSeqPerRoom(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, b backend) {
		broker := openBroker(t, testConfig(b.url))
		for want := uint64(1); want <= 3; want++ {
			reply := publish(t, broker, "a", "ann", "a"+string(rune('0'+want)), "e1")
			if reply.Seq != want || reply.Epoch != "e1" || reply.Duplicate {
				t.Fatalf("publish %d to a = %+v; want seq %d epoch e1", want, reply, want)
			}
		}
		reply := publish(t, broker, "b", "ann", "b1", "e2")
		if reply.Seq != 1 || reply.Epoch != "e2" {
			t.Fatalf("first publish to b = %+v; want seq 1 epoch e2 (rooms are independent)", reply)
		}
		// A room keeps the epoch it was first given; later candidates lose.
		reply = publish(t, broker, "a", "ann", "a4", "e3")
		if reply.Seq != 4 || reply.Epoch != "e1" {
			t.Fatalf("publish to a with another candidate = %+v; want seq 4 epoch e1", reply)
		}
	})
}

func TestPublishDuplicateIsAppliedOnce(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, b backend) {
		broker := openBroker(t, testConfig(b.url))
		subscribe(t, broker, "r")
		subscribe(t, broker, "markers")
		first := publish(t, broker, "r", "ann", "x", "e1")
		again := publish(t, broker, "r", "ann", "x", "e2")
		if again.Seq != first.Seq || again.Epoch != first.Epoch || !again.Duplicate {
			t.Fatalf("repeated send = %+v; want the original %+v with Duplicate", again, first)
		}
		other := publish(t, broker, "r", "bob", "x", "e1")
		if other.Seq != 2 || other.Duplicate {
			t.Fatalf("same id from another user = %+v; want a new message with seq 2", other)
		}
		// Users and ids that could be joined into the same string are
		// still different sends.
		colon := publish(t, broker, "r", "ann:x", "y", "e1")
		colonToo := publish(t, broker, "r", "ann", "x:y", "e1")
		if colon.Seq != 3 || colonToo.Seq != 4 || colon.Duplicate || colonToo.Duplicate {
			t.Fatalf("ann:x/y = %+v, ann/x:y = %+v; want seqs 3 and 4", colon, colonToo)
		}

		// Published once: the subscriber sees seqs 1 to 4, nothing twice.
		expectMsg(t, broker, "r", 1, "x")
		expectMsg(t, broker, "r", 2, "x")
		expectMsg(t, broker, "r", 3, "y")
		expectMsg(t, broker, "r", 4, "x:y")
		expectNothingBefore(t, broker, broker, "markers")
		// Appended once.
		history := fetch(t, broker, "r", 0, 10, "e1")
		if got := seqsOf(history.Messages); !slices.Equal(got, []uint64{1, 2, 3, 4}) || history.Head != 4 {
			t.Fatalf("history seqs %v head %d; want [1 2 3 4] head 4", got, history.Head)
		}
	})
}

func TestFetchReadsRanges(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, b backend) {
		broker := openBroker(t, testConfig(b.url))
		for i := range 10 {
			publish(t, broker, "r", "ann", "m"+string(rune('a'+i)), "e1")
		}
		cases := []struct {
			after uint64
			limit int
			want  []uint64
		}{
			{0, 4, []uint64{1, 2, 3, 4}},
			{3, 2, []uint64{4, 5}},
			{8, 5, []uint64{9, 10}},
			{10, 5, nil},
			{0, 100, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		}
		for _, c := range cases {
			reply := fetch(t, broker, "r", c.after, c.limit, "e9")
			if got := seqsOf(reply.Messages); !slices.Equal(got, c.want) {
				t.Errorf("fetch after %d limit %d = seqs %v; want %v", c.after, c.limit, got, c.want)
			}
			if reply.Head != 10 || reply.First != 1 || reply.Epoch != "e1" {
				t.Errorf("fetch after %d: head %d first %d epoch %q; want 10, 1, e1",
					c.after, reply.Head, reply.First, reply.Epoch)
			}
		}
		got := fetch(t, broker, "r", 4, 1, "e1").Messages[0]
		want := protocol.Msg{Type: protocol.TypeMsg, Room: "r", Seq: 5, ID: "me", From: "ann",
			Body: "body of me", TS: 1700000000123, Epoch: "e1"}
		if got != want {
			t.Fatalf("fetched message = %+v; want %+v", got, want)
		}
	})
}

func TestFetchEmptyRoomSetsEpoch(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, b backend) {
		broker := openBroker(t, testConfig(b.url))
		reply := fetch(t, broker, "empty", 0, 10, "e1")
		if reply.Head != 0 || reply.First != 1 || reply.Epoch != "e1" || len(reply.Messages) != 0 {
			t.Fatalf("fetch of an empty room = %+v; want head 0, first 1, epoch e1, no messages", reply)
		}
		if got := publish(t, broker, "empty", "ann", "x", "e2"); got.Seq != 1 || got.Epoch != "e1" {
			t.Fatalf("publish after the fetch = %+v; want seq 1 in the fetch's epoch e1", got)
		}
	})
}

func TestFetchAfterTrimming(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, b backend) {
		cfg := testConfig(b.url)
		cfg.HistoryLenMax = 5
		broker := openBroker(t, cfg)
		for i := range 8 {
			publish(t, broker, "r", "ann", "m"+string(rune('a'+i)), "e1")
		}
		cases := []struct {
			after uint64
			limit int
			want  []uint64
		}{
			// Seqs 1 to 3 are trimmed: what is held of the range comes back.
			{0, 10, []uint64{4, 5, 6, 7, 8}},
			{0, 5, []uint64{4, 5}},
			// A range that lies wholly before First holds nothing.
			{0, 2, nil},
			{5, 10, []uint64{6, 7, 8}},
		}
		for _, c := range cases {
			reply := fetch(t, broker, "r", c.after, c.limit, "e1")
			if got := seqsOf(reply.Messages); !slices.Equal(got, c.want) {
				t.Errorf("fetch after %d limit %d = seqs %v; want %v", c.after, c.limit, got, c.want)
			}
			if reply.Head != 8 || reply.First != 4 {
				t.Errorf("fetch after %d: head %d first %d; want head 8, first 4", c.after, reply.Head, reply.First)
			}
		}
	})
}

func TestDataLossStartsNewEpoch(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, b backend) {
		broker := openBroker(t, testConfig(b.url))
		for _, id := range []string{"x", "y", "z"} {
			publish(t, broker, "r", "ann", id, "e1")
		}
		publish(t, broker, "s", "ann", "x", "e1")
		b.loseData(t)

		// Publish finds no epoch: its candidate becomes the epoch, seq
		// restarts, and the forgotten dedupe key makes "x" a new message.
		reply := publish(t, broker, "r", "ann", "x", "e2")
		if reply.Seq != 1 || reply.Epoch != "e2" || reply.Duplicate {
			t.Fatalf("first publish after data loss = %+v; want seq 1, epoch e2, not a duplicate", reply)
		}
		history := fetch(t, broker, "r", 0, 10, "e3")
		if history.Epoch != "e2" || history.Head != 1 || history.First != 1 || len(history.Messages) != 1 ||
			history.Messages[0].Epoch != "e2" {
			t.Fatalf("history after data loss = %+v; want epoch e2, head 1, one message of epoch e2", history)
		}

		// Fetch finds no epoch either: it sets its own candidate.
		if reply := fetch(t, broker, "s", 0, 10, "e4"); reply.Epoch != "e4" || reply.Head != 0 || reply.First != 1 {
			t.Fatalf("fetch after data loss = %+v; want epoch e4, head 0, first 1", reply)
		}
	})
}

func TestRequestsAreChecked(t *testing.T) {
	server := miniredisBackend(t)
	broker := openBroker(t, testConfig(server.url))
	ctx := context.Background()
	publishes := map[string]node.PublishRequest{
		"bad room":        {Room: "a{b}", ID: "x", From: "ann", EpochCandidate: "e1"},
		"empty room":      {Room: "", ID: "x", From: "ann", EpochCandidate: "e1"},
		"empty candidate": {Room: "r", ID: "x", From: "ann"},
	}
	for name, req := range publishes {
		if _, err := broker.Publish(ctx, req); err == nil {
			t.Errorf("publish with %s: no error", name)
		}
	}
	fetches := map[string]node.FetchRequest{
		"bad room":        {Room: "a b", Limit: 1, EpochCandidate: "e1"},
		"empty candidate": {Room: "r", Limit: 1},
		"zero limit":      {Room: "r", Limit: 0, EpochCandidate: "e1"},
		"after seq":       {Room: "r", AfterSeq: 1 << 63, Limit: 1, EpochCandidate: "e1"},
	}
	for name, req := range fetches {
		if _, err := broker.Fetch(ctx, req); err == nil {
			t.Errorf("fetch with %s: no error", name)
		}
	}
	if err := broker.Subscribe(ctx, "no spaces"); err == nil {
		t.Error("subscribe to a bad room: no error")
	}
}

func TestConfigIsChecked(t *testing.T) {
	cases := map[string]RedisConfig{
		"bad url":             {URL: "http://localhost"},
		"bad delivery":        {URL: "redis://127.0.0.1:1", Delivery: "sometimes"},
		"negative history":    {URL: "redis://127.0.0.1:1", HistoryLenMax: -1},
		"timeout below pings": {URL: "redis://127.0.0.1:1", PingIntervalMs: 500, LinkTimeoutMs: 400},
	}
	for name, cfg := range cases {
		broker, err := NewRedis(cfg)
		if err == nil {
			_ = broker.Close()
			t.Errorf("%s: no error", name)
		}
	}
}

func TestPubSubModeHasNoSeqAndNoHistory(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, b backend) {
		cfg := testConfig(b.url)
		cfg.Delivery = node.PubSub
		broker := openBroker(t, cfg)
		subscribe(t, broker, "r")
		for range 2 {
			// No dedupe either: the repeat is a second message.
			if reply := publish(t, broker, "r", "ann", "x", ""); reply != (node.PublishReply{}) {
				t.Fatalf("pubsub publish = %+v; want seq 0, no epoch", reply)
			}
		}
		for range 2 {
			if got := expectMsg(t, broker, "r", 0, "x"); got.Epoch != "" || got.Body != "body of x" {
				t.Fatalf("pubsub message = %+v; want no epoch, body of x", got)
			}
		}
		_, err := broker.Fetch(context.Background(), node.FetchRequest{Room: "r", Limit: 1, EpochCandidate: "e1"})
		if !errors.Is(err, ErrNoHistory) || !strings.Contains(err.Error(), `"r"`) {
			t.Fatalf("pubsub fetch error = %v; want ErrNoHistory naming the room", err)
		}
	})
}
