package loadgen

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"chatlab/system/broker"
	"chatlab/system/client"
	"chatlab/system/protocol"
	"chatlab/system/server"
)

// closes counts a client's disconnects with code.
func (r *recorder) closes(name string, code int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events[name] {
		if e.Kind == client.KindDisconnected && e.CloseCode == code {
			n++
		}
	}
	return n
}

// Tokens that last about a second: the node closes each connection with
// 4001 as its token expires, the client takes a fresh token from its
// source, reconnects and resumes, and the receiver gets every message
// once and in order across the refreshes.
func TestExpiredTokensAreRefreshedWithoutLoss(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	redis := miniredis.RunT(t)
	b, err := broker.NewRedis(broker.RedisConfig{URL: "redis://" + redis.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.Start(context.Background(), server.Config{ID: "n1", Listen: "127.0.0.1:0", Broker: b,
		Auth: true, Secret: secret, RateBurst: 1000, RatePerSecond: 1000, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(); b.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := newRecorder()
	var mints atomic.Int64
	start := func(name string) *Client {
		// Token expiry has a resolution of one second: a 2 s token lasts
		// between one and two.
		source := func(context.Context) (string, error) {
			mints.Add(1)
			return server.MintToken(secret, name, []string{"r"}, 2*time.Second, time.Now())
		}
		c := NewClient(ClientConfig{Machine: client.Config{User: name, Name: name, ResendAfterMs: 500, BackoffMaxMs: 500},
			Seed: uint64(len(name)), URLs: []string{"ws://" + srv.Addr() + "/ws"}, TokenSource: source, Record: rec.record})
		go c.Run(ctx)
		c.Join("r")
		return c
	}
	alice, bob := start("alice"), start("bob")
	waitFor(t, func() bool {
		return alice.Snapshot().Connected && bob.Snapshot().Connected && len(bob.Snapshot().Rooms) == 1 && bob.Snapshot().Rooms[0].Joined
	}, "both joined")
	sent := 0
	waitFor(t, func() bool {
		alice.Send("r", fmt.Sprintf("m%d", sent))
		sent++
		return rec.closes("alice", protocol.CloseTokenExpired) >= 2 && rec.closes("bob", protocol.CloseTokenExpired) >= 2
	}, "two token expiries on each client")
	waitFor(t, func() bool { s := alice.Snapshot(); return s.Connected && len(s.Pending) == 0 }, "alice acked everything")
	waitFor(t, func() bool { ids, _ := rec.delivered("bob"); return len(ids) >= sent }, "bob received every message")
	ids, _ := rec.delivered("bob")
	if len(ids) != sent {
		t.Fatalf("bob accepted %d messages; alice sent %d", len(ids), sent)
	}
	for i, id := range ids {
		if want := fmt.Sprintf("alice-%d", i+1); id != want {
			t.Fatalf("bob's message %d is %s, want %s: lost, repeated or out of order", i, id, want)
		}
	}
	if got := mints.Load(); got < 6 {
		t.Fatalf("%d tokens minted; want the first two and a fresh one per expiry (at least 6)", got)
	}
	for _, name := range []string{"alice", "bob"} {
		if other := rec.closes(name, 1006) + rec.closes(name, protocol.CloseReconnect); other > 0 {
			t.Errorf("%s saw %d closes other than 4001", name, other)
		}
	}
	t.Logf("%d messages across %d and %d token expiries, %d tokens minted", sent,
		rec.closes("alice", protocol.CloseTokenExpired), rec.closes("bob", protocol.CloseTokenExpired), mints.Load())
}
