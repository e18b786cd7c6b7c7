package local

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// The embedded Redis's clock moves with the wall clock, so a key with a
// TTL expires as on a real Redis. Without the clock miniredis keeps it
// forever, and a dedupe TTL bug would pass every run.
func TestEmbeddedRedisExpiresKeys(t *testing.T) {
	r, err := startRedis(RedisEmbedded, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	if !strings.Contains(r.describe, "miniredis") {
		t.Errorf("describe %q: want it to name miniredis", r.describe)
	}
	client := goredis.NewClient(&goredis.Options{Addr: r.addr, DisableIdentity: true})
	defer client.Close()
	ctx := context.Background()
	if err := client.Set(ctx, "dedupe", "1:e", 50*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	// Polled, not slept on: the key must go within a generous bound.
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := client.Exists(ctx, "dedupe").Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a key with a 50 ms TTL still exists after 30 s: the embedded Redis's clock does not move")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An external Redis is used as found (its database flushed) and refuses
// the faults that would stop it.
func TestExternalRedis(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not on PATH: the external Redis test needs one to point at")
	}
	server, err := startRedis(RedisServer, "redis-server", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer server.close()
	if !strings.HasPrefix(server.describe, "redis-server ") {
		t.Errorf("describe %q: want redis-server and its version", server.describe)
	}
	seed := goredis.NewClient(&goredis.Options{Addr: server.addr, DB: 3, DisableIdentity: true})
	defer seed.Close()
	ctx := context.Background()
	if err := seed.Set(ctx, "chatlab:{old}:seq", "9", 0).Err(); err != nil {
		t.Fatal(err)
	}
	external, err := startRedis("redis://"+server.addr+"/3", "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer external.close()
	if n, err := seed.DBSize(ctx).Result(); err != nil || n != 0 {
		t.Errorf("database 3 holds %d keys (err %v) after start: want it flushed", n, err)
	}
	if got, want := external.nodeURL("127.0.0.1:1"), "redis://127.0.0.1:1/3"; got != want {
		t.Errorf("node URL %q; want %q", got, want)
	}
	if !strings.Contains(external.describe, "external") {
		t.Errorf("describe %q: want it to say external", external.describe)
	}
	if err := external.stop(false); !errors.Is(err, ErrRedisNotOurs) {
		t.Errorf("stop: %v; want ErrRedisNotOurs", err)
	}
	if err := external.start(); !errors.Is(err, ErrRedisNotOurs) {
		t.Errorf("start: %v; want ErrRedisNotOurs", err)
	}
}

// startRedisServer starts a redis-server child for a test that needs the
// real one (CLIENT KILL), and stops it when the test ends.
func startRedisServer(t *testing.T) *redis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not on PATH: CLIENT KILL needs the real one")
	}
	server, err := startRedis(RedisServer, "redis-server", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(server.close)
	return server
}

// A pub/sub kill closes the subscribers' connections only: a subscriber
// reads an error while a command connection goes on answering. The
// embedded Redis, which has no CLIENT KILL, and an external one refuse it.
func TestKillPubSubClosesOnlySubscribers(t *testing.T) {
	server := startRedisServer(t)
	ctx := context.Background()
	commands := goredis.NewClient(&goredis.Options{Addr: server.addr, DisableIdentity: true, MaxRetries: -1})
	defer commands.Close()
	if err := commands.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	subscriber := goredis.NewClient(&goredis.Options{Addr: server.addr, DisableIdentity: true})
	defer subscriber.Close()
	pubsub := subscriber.Subscribe(ctx, "room")
	defer pubsub.Close()
	if _, err := pubsub.ReceiveTimeout(ctx, 10*time.Second); err != nil {
		t.Fatalf("subscribe confirmation: %v", err)
	}
	if err := server.killPubSub(ctx); err != nil {
		t.Fatal(err)
	}
	if message, err := pubsub.ReceiveTimeout(ctx, 10*time.Second); err == nil {
		t.Fatalf("the subscriber read %v after the kill; want its connection closed", message)
	}
	if err := commands.Ping(ctx).Err(); err != nil {
		t.Errorf("the command connection failed after the kill: %v", err)
	}
	embedded, err := startRedis(RedisEmbedded, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer embedded.close()
	if err := embedded.killPubSub(ctx); !errors.Is(err, ErrNoClientKill) {
		t.Errorf("embedded: %v; want ErrNoClientKill", err)
	}
	external, err := startRedis("redis://"+server.addr+"/3", "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer external.close()
	if err := external.killPubSub(ctx); !errors.Is(err, ErrRedisNotOurs) {
		t.Errorf("external: %v; want ErrRedisNotOurs", err)
	}
}

// While pub/sub is refused, a subscriber that comes back is killed again;
// once it is admitted, a new subscription lasts.
func TestRefusedPubSubKillsEveryNewSubscriber(t *testing.T) {
	server := startRedisServer(t)
	ctx := context.Background()
	subscriber := goredis.NewClient(&goredis.Options{Addr: server.addr, DisableIdentity: true})
	defer subscriber.Close()
	if err := server.refusePubSub(ctx); err != nil {
		t.Fatal(err)
	}
	refused := subscriber.Subscribe(ctx, "room")
	// The subscription may be confirmed before the next kill; the kill
	// comes within refusePubSubEvery, so a read fails within the wait.
	var readErr error
	for range 3 {
		if _, readErr = refused.ReceiveTimeout(ctx, 10*time.Second); readErr != nil {
			break
		}
	}
	_ = refused.Close()
	if readErr == nil {
		t.Fatal("a subscriber lasted through a pub/sub refusal")
	}
	server.admitPubSub()
	admitted := subscriber.Subscribe(ctx, "room")
	defer admitted.Close()
	if _, err := admitted.ReceiveTimeout(ctx, 10*time.Second); err != nil {
		t.Fatalf("subscribe after the refusal ended: %v", err)
	}
	// The new connection answers a ping: it was not killed.
	if err := admitted.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if message, err := admitted.ReceiveTimeout(ctx, 10*time.Second); err != nil {
		t.Fatalf("after the refusal ended: %v (read %v)", err, message)
	}
}

// freePort never hands out a port twice in one process, though the kernel
// may offer a port it just freed again: a balancer was once given the same
// port for its public and admin listeners and failed to start (CI,
// drain-burst on local seed 1: "bind: address already in use").
func TestFreePortNeverHandsOutAPortTwice(t *testing.T) {
	seen := map[int]bool{}
	for range 200 {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		if seen[port] {
			t.Fatalf("port %d handed out twice", port)
		}
		seen[port] = true
	}
}
