package broker

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"chatlab/system/node"
	"chatlab/system/protocol"
)

// eventWait bounds how long a test waits for an event that must come. It is
// a deadline against hanging, not a timing assertion.
const eventWait = 10 * time.Second

// backend is a Redis the tests run against, with its ways to fail.
type backend struct {
	url string
	// loseData wipes every key, as a restart without persistence does.
	loseData func(t testing.TB)
	// dropConnections cuts every pub/sub connection.
	dropConnections func(t testing.TB)
	// advance brings every key with a TTL d closer to expiring.
	advance func(t testing.TB, d time.Duration)
}

// onEveryBackend runs test on miniredis and, when redis-server is on PATH,
// on a real Redis.
func onEveryBackend(t *testing.T, test func(t *testing.T, b backend)) {
	t.Run("miniredis", func(t *testing.T) {
		test(t, miniredisBackend(t))
	})
	t.Run("redis-server", func(t *testing.T) {
		test(t, redisServerBackend(t))
	})
}

func miniredisBackend(t testing.TB) backend {
	server := miniredis.RunT(t)
	return backend{
		url:      "redis://" + server.Addr(),
		loseData: func(testing.TB) { server.FlushAll() },
		dropConnections: func(t testing.TB) {
			server.Close()
			if err := server.Restart(); err != nil {
				t.Fatalf("restart miniredis: %v", err)
			}
		},
		advance: func(_ testing.TB, d time.Duration) { server.FastForward(d) },
	}
}

// redisServerBackend starts a redis-server without persistence on a free
// 127.0.0.1 port and stops it when the test ends.
func redisServerBackend(t testing.TB) backend {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not on PATH (apt-get install -y redis-server): real-Redis run skipped")
	}
	port := freePort(t)
	var output bytes.Buffer
	command := exec.Command(path, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	command.Stdout, command.Stderr = &output, &output
	if err := command.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(func() {
		if err := command.Process.Kill(); err != nil {
			t.Errorf("stop redis-server: %v", err)
		}
		_ = command.Wait() // killed: the exit status says so and nothing more
	})
	url := "redis://127.0.0.1:" + strconv.Itoa(port)
	admin := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port), DisableIdentity: true})
	t.Cleanup(func() { _ = admin.Close() })
	waitForPing(t, admin, &output)
	return backend{
		url: url,
		loseData: func(t testing.TB) {
			if err := admin.FlushAll(context.Background()).Err(); err != nil {
				t.Fatalf("flushall: %v", err)
			}
		},
		dropConnections: func(t testing.TB) {
			if err := admin.ClientKillByFilter(context.Background(), "TYPE", "pubsub").Err(); err != nil {
				t.Fatalf("client kill: %v", err)
			}
		},
		advance: func(t testing.TB, d time.Duration) { shortenTTLs(t, admin, d) },
	}
}

// shortenTTLs moves a real Redis's expiries d closer, as if d had passed:
// a key whose TTL runs out is deleted, which is what Redis does when it
// finds it expired.
func shortenTTLs(t testing.TB, admin *redis.Client, d time.Duration) {
	ctx := context.Background()
	keys, err := admin.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatalf("keys: %v", err)
	}
	for _, key := range keys {
		ttl, err := admin.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatalf("pttl %s: %v", key, err)
		}
		switch {
		case ttl <= 0: // no expiry (-1), or gone meanwhile (-2)
		case ttl <= d:
			err = admin.Del(ctx, key).Err()
		default:
			err = admin.PExpire(ctx, key, ttl-d).Err()
		}
		if err != nil {
			t.Fatalf("shorten the TTL of %s: %v", key, err)
		}
	}
}

// redisStartAttemptsMax bounds the wait for redis-server to accept commands,
// in attempts 20 ms apart.
const redisStartAttemptsMax = 250

func waitForPing(t testing.TB, client *redis.Client, output *bytes.Buffer) {
	var err error
	for range redisStartAttemptsMax {
		if err = client.Ping(context.Background()).Err(); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("redis-server does not answer: %v\n%s", err, output.String())
}

func freePort(t testing.TB) int {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port
}

// testConfig is a broker config with a link quick enough for tests and slow
// enough not to flap on a busy 2-core machine.
func testConfig(url string) RedisConfig {
	return RedisConfig{URL: url, PingIntervalMs: 50, LinkTimeoutMs: 1000, ReconnectDelayMaxMs: 100}
}

// openBroker builds a broker, closes it when the test ends and waits for its
// first LinkUp.
func openBroker(t testing.TB, cfg RedisConfig) *Redis {
	t.Helper()
	return openWith(t, func() (*Redis, error) { return NewRedis(cfg) })
}

// openWith is openBroker with the broker built by open.
func openWith(t testing.TB, open func() (*Redis, error)) *Redis {
	t.Helper()
	broker, err := open()
	if err != nil {
		t.Fatalf("open broker: %v", err)
	}
	t.Cleanup(func() {
		if err := broker.Close(); err != nil {
			t.Errorf("close broker: %v", err)
		}
	})
	expectLink(t, broker, LinkUp)
	return broker
}

func nextEvent(t testing.TB, broker *Redis) Event {
	t.Helper()
	select {
	case event, ok := <-broker.Events():
		if !ok {
			t.Fatal("events closed")
		}
		return event
	case <-time.After(eventWait):
		t.Fatalf("no event within %v", eventWait)
	}
	panic("unreachable")
}

// expectLink expects a link change; a LinkDown must say why.
func expectLink(t testing.TB, broker *Redis, want Link) Event {
	t.Helper()
	event := nextEvent(t, broker)
	if event.Msg != nil || event.Link != want || (want == LinkDown) != (event.Err != nil) {
		t.Fatalf("event = %s; want link %s", describe(event), want)
	}
	return event
}

func expectMsg(t testing.TB, broker *Redis, room string, seq uint64, id string) protocol.Msg {
	t.Helper()
	event := nextEvent(t, broker)
	if event.Msg == nil || event.Msg.Room != room || event.Msg.Seq != seq || event.Msg.ID != id {
		t.Fatalf("event = %s; want msg room %s seq %d id %s", describe(event), room, seq, id)
	}
	return *event.Msg
}

// expectNothingBefore publishes a marker to room (which subscriber holds)
// and expects it to be subscriber's next event. Redis hands each
// subscriber its messages in publish order, so an event that should not
// have come would have come before the marker: no quiet period is needed.
func expectNothingBefore(t testing.TB, publisher, subscriber *Redis, room string) {
	t.Helper()
	id := fmt.Sprint("marker-", markers.Add(1))
	publish(t, publisher, room, "marker", id, "e1")
	event := nextEvent(t, subscriber)
	if event.Msg == nil || event.Msg.Room != room || event.Msg.ID != id {
		t.Fatalf("unexpected event %s (want nothing before the marker %s in %s)", describe(event), id, room)
	}
}

// markers numbers the markers: the broker would dedupe a repeated id.
var markers atomic.Int64

func describe(event Event) string {
	if event.Msg != nil {
		return fmt.Sprintf("msg %+v", *event.Msg)
	}
	if event.Err != nil {
		return "link " + event.Link.String() + " (" + event.Err.Error() + ")"
	}
	return "link " + event.Link.String()
}

func publish(t testing.TB, broker *Redis, room, from, id, epoch string) node.PublishReply {
	t.Helper()
	reply, err := broker.Publish(context.Background(), node.PublishRequest{Room: room, ID: id, From: from,
		Body: "body of " + id, TS: 1700000000123, EpochCandidate: epoch})
	if err != nil {
		t.Fatalf("publish %s/%s/%s: %v", room, from, id, err)
	}
	return reply
}

func fetch(t testing.TB, broker *Redis, room string, after uint64, limit int, epoch string) node.FetchReply {
	t.Helper()
	reply, err := broker.Fetch(context.Background(), node.FetchRequest{Room: room, AfterSeq: after, Limit: limit,
		EpochCandidate: epoch})
	if err != nil {
		t.Fatalf("fetch %s after %d: %v", room, after, err)
	}
	return reply
}

func seqsOf(messages []protocol.Msg) []uint64 {
	seqs := make([]uint64, len(messages))
	for i, message := range messages {
		seqs[i] = message.Seq
	}
	return seqs
}

// blackhole is a TCP proxy that can stop forwarding without closing
// anything: a half-open link as a network partition makes it.
type blackhole struct {
	listener net.Listener
	target   string

	mu     sync.Mutex
	paused bool
	resume chan struct{} // closed when unpaused
	conns  []net.Conn
}

func startBlackhole(t *testing.T, target string) *blackhole {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	proxy := &blackhole{listener: listener, target: target, resume: make(chan struct{})}
	close(proxy.resume)
	var accepting sync.WaitGroup
	accepting.Go(proxy.accept)
	t.Cleanup(func() {
		proxy.setPaused(false) // frees pipes held by a pause
		_ = listener.Close()   // stops accept; its error is the expected "closed"
		proxy.mu.Lock()
		for _, conn := range proxy.conns {
			_ = conn.Close() // tearing down: errors mean already closed
		}
		proxy.mu.Unlock()
		accepting.Wait()
	})
	return proxy
}

func (p *blackhole) addr() string { return p.listener.Addr().String() }

func (p *blackhole) accept() {
	for {
		client, err := p.listener.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()
		go p.pipe(client, server)
		go p.pipe(server, client)
	}
}

// pipe copies while not paused; bytes read during a pause are held until
// the pause ends, as a partitioned network holds nothing but delivers
// nothing either.
func (p *blackhole) pipe(from, to net.Conn) {
	buffer := make([]byte, 32*1024)
	for {
		n, err := from.Read(buffer)
		p.mu.Lock()
		resume := p.resume
		p.mu.Unlock()
		<-resume
		if n > 0 {
			if _, writeErr := to.Write(buffer[:n]); writeErr != nil {
				_ = from.Close()
				return
			}
		}
		if err != nil {
			_ = to.Close() // the other direction sees it and ends too
			return
		}
	}
}

func (p *blackhole) setPaused(paused bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if paused == p.paused {
		return
	}
	p.paused = paused
	if paused {
		p.resume = make(chan struct{})
	} else {
		close(p.resume)
	}
}

// RedisServerURL starts a redis-server for the external tests of this
// package (package broker_test), which run the adapter under a real node
// server; it skips when redis-server is not on PATH.
func RedisServerURL(t testing.TB) string { return redisServerBackend(t).url }
