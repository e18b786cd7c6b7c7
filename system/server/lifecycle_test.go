package server

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gorilla/websocket"

	"chatlab/system/node"
	"chatlab/system/protocol"
)

// /readyz follows the broker link: 503 while Redis is gone, 200 once back.
// Meanwhile sends are refused as unavailable, and the retry with the same
// id lands once Redis is back. (The node keeps its clients here: no grace.)
func TestReadyFollowsRedis(t *testing.T) {
	m := miniredis.RunT(t)
	srv := startNode(t, m, "a", func(cfg *Config) { cfg.BrokerLostGrace = -1 })
	alice := dial(t, srv, "token="+token(t, "alice"))
	alice.join("lobby")
	if status, _ := get(t, srv, "/healthz"); status != http.StatusOK {
		t.Fatalf("/healthz = %d", status)
	}
	m.Close()
	waitStatus(t, srv, "/readyz", http.StatusServiceUnavailable)
	if status, _ := get(t, srv, "/healthz"); status != http.StatusOK {
		t.Fatalf("/healthz = %d while Redis is down; the process is alive", status)
	}
	send := protocol.Send{Type: protocol.TypeSend, Room: "lobby", ID: "during-outage", Body: "hello?"}
	alice.write(send)
	if reply := alice.next(); reply.Type != protocol.TypeError || reply.Code != protocol.CodeUnavailable || reply.Ref != send.ID {
		t.Fatalf("send during the outage got %+v; want error unavailable for %s", reply, send.ID)
	}
	if err := m.Restart(); err != nil {
		t.Fatalf("restart miniredis: %v", err)
	}
	waitStatus(t, srv, "/readyz", http.StatusOK)
	alice.write(send)
	if ack := alice.nextOf(protocol.TypeAck); ack.ID != send.ID || ack.Seq != 1 {
		t.Fatalf("retry after the outage got %+v; want the ack of %s with seq 1", ack, send.ID)
	}
}

// A node that has lost Redis longer than its grace moves its clients: each
// connection is closed with 4000 and the reason "broker lost", so that the
// client resumes on another node; a new connection is closed the same way
// until Redis is back, when the node greets clients again.
func TestANodeThatLostRedisMovesItsClients(t *testing.T) {
	m := miniredis.RunT(t)
	srv := startNode(t, m, "a", func(cfg *Config) { cfg.BrokerLostGrace = 300 * time.Millisecond })
	alice := dial(t, srv, "token="+token(t, "alice"))
	alice.join("lobby")
	m.Close()
	code, reason := alice.closeCodeReason()
	if code != protocol.CloseReconnect || reason != protocol.ReasonBrokerLost {
		t.Fatalf("alice's connection closed with %d %q; want %d %q", code, reason, protocol.CloseReconnect, protocol.ReasonBrokerLost)
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+srv.Addr()+"/ws?token="+token(t, "bob"), nil)
	if err != nil {
		t.Fatalf("dial while Redis is lost: %v", err)
	}
	bob := &client{t: t, ws: ws}
	t.Cleanup(func() { ws.Close() })
	if code, reason := bob.closeCodeReason(); code != protocol.CloseReconnect || reason != protocol.ReasonBrokerLost {
		t.Fatalf("a new connection while Redis is lost closed with %d %q", code, reason)
	}
	if err := m.Restart(); err != nil {
		t.Fatalf("restart miniredis: %v", err)
	}
	waitStatus(t, srv, "/readyz", http.StatusOK)
	carol := dial(t, srv, "token="+token(t, "carol"))
	if joined := carol.join("lobby"); joined.Room != "lobby" {
		t.Fatalf("carol after Redis is back: %+v", joined)
	}
}

// Pubsub delivery crosses nodes too, without seqs.
func TestPubSubDelivery(t *testing.T) {
	m := miniredis.RunT(t)
	pubsub := func(cfg *Config) { cfg.Delivery = node.PubSub }
	alice := dial(t, startNode(t, m, "a", pubsub), "token="+token(t, "alice"))
	bob := dial(t, startNode(t, m, "b", pubsub), "token="+token(t, "bob"))
	alice.join("lobby")
	bob.join("lobby")
	alice.write(protocol.Send{Type: protocol.TypeSend, Room: "lobby", ID: "1", Body: "naive"})
	if msg := bob.nextOf(protocol.TypeMsg); msg.ID != "1" || msg.FromUser != "alice" || msg.Seq != 0 {
		t.Fatalf("bob got %+v; want alice's message with seq 0", msg)
	}
}

// Drain (the SIGTERM path) tells every client to reconnect (close 4000),
// then refuses new connections and readiness.
func TestDrain(t *testing.T) {
	m := miniredis.RunT(t)
	srv := startNode(t, m, "a", nil)
	alice := dial(t, srv, "token="+token(t, "alice"))
	bob := dial(t, srv, "token="+token(t, "bob"))
	alice.join("lobby")
	// The clients read while the node drains, as real ones do, so that
	// they answer its close frames.
	type closed struct {
		code int
		err  error
	}
	closes := make(chan closed, 2)
	for _, c := range []*client{alice, bob} {
		go func() {
			code, err := c.readClose()
			closes <- closed{code, err}
		}()
	}
	if !srv.Drain() {
		t.Fatal("drain timed out with connections left")
	}
	for range 2 {
		if closed := <-closes; closed.err != nil || closed.code != protocol.CloseReconnect {
			t.Fatalf("close %d, %v; want close %d", closed.code, closed.err, protocol.CloseReconnect)
		}
	}
	if status, body := dialStatus(t, srv, "token="+token(t, "carol"), nil); status != http.StatusServiceUnavailable {
		t.Fatalf("/ws while draining = %d %q; want 503", status, body)
	}
	if status, _ := get(t, srv, "/readyz"); status != http.StatusServiceUnavailable {
		t.Fatalf("/readyz while draining = %d; want 503", status)
	}
}

func TestMetricsAndState(t *testing.T) {
	m := miniredis.RunT(t)
	srv := startNode(t, m, "a", nil)
	alice := dial(t, srv, "token="+token(t, "alice"))
	alice.join("lobby")
	alice.write(protocol.Send{Type: protocol.TypeSend, Room: "lobby", ID: "1", Body: "hello"})
	alice.nextOf(protocol.TypeAck)
	alice.writeRaw(websocket.BinaryMessage, []byte("binary"))
	for frame := alice.next(); frame.Code != protocol.CodeBinaryFrame; frame = alice.next() {
	}

	status, body := getAdmin(t, srv, "/metrics")
	if status != http.StatusOK {
		t.Fatalf("/metrics = %d", status)
	}
	for _, want := range []string{
		`chatlab_connections{node="a"} 1`,
		`chatlab_rooms{node="a"} 1`,
		`chatlab_publishes_total{node="a"} 1`,
		`chatlab_broker_link_up{node="a"} 1`,
		`chatlab_binary_frames_total{node="a"} 1`,
		`chatlab_delivery_latency_seconds_count{node="a"} 1`,
		`chatlab_frames_in_total{node="a"} 2`,
		`chatlab_rate_limited_total{node="a"} 0`,
		`chatlab_slow_consumers_total{node="a"} 0`,
		`chatlab_deliveries_total{node="a"}`,
		`chatlab_frames_out_total{node="a"}`,
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	status, body = getAdmin(t, srv, "/state")
	if status != http.StatusOK {
		t.Fatalf("/state = %d", status)
	}
	var state State
	if err := json.Unmarshal([]byte(body), &state); err != nil {
		t.Fatalf("/state is not JSON: %v\n%s", err, body)
	}
	if state.Node.ID != "a" || state.Node.Connections != 1 || len(state.Node.Rooms) != 1 ||
		state.Node.Rooms[0].Room != "lobby" || state.Node.Rooms[0].Head != 1 {
		t.Fatalf("/state node = %+v", state.Node)
	}
	if !state.Runtime.BrokerLinkUp || !state.Runtime.Auth || state.Runtime.Addr != srv.Addr() || state.Runtime.Goroutines == 0 {
		t.Fatalf("/state runtime = %+v", state.Runtime)
	}
}

// The public port serves clients and probes only: what names rooms, users
// and runtime figures is on the admin listener, which is on loopback by
// default.
func TestOperatorEndpointsAreOffThePublicPort(t *testing.T) {
	m := miniredis.RunT(t)
	srv := startNode(t, m, "a", nil)
	for _, path := range []string{"/state", "/metrics", "/debug/pprof/heap"} {
		if status, _ := get(t, srv, path); status != http.StatusNotFound {
			t.Errorf("public %s = %d, want 404", path, status)
		}
		if status, _ := getAdmin(t, srv, path); status != http.StatusOK {
			t.Errorf("admin %s = %d, want 200", path, status)
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if status, _ := get(t, srv, path); status != http.StatusOK {
			t.Errorf("public %s = %d, want 200", path, status)
		}
	}
	if host, _, _ := net.SplitHostPort(srv.AdminAddr()); host != "127.0.0.1" {
		t.Errorf("admin listener on %s by default, want loopback", srv.AdminAddr())
	}
}

// Close ends every goroutine the server started, with clients still
// connected and broker calls possibly in flight.
func TestCloseStopsEverything(t *testing.T) {
	m := miniredis.RunT(t)
	srv := startNode(t, m, "a", nil)
	for _, user := range []string{"alice", "bob", "carol"} {
		c := dial(t, srv, "token="+token(t, user))
		c.join("lobby")
		c.write(protocol.Send{Type: protocol.TypeSend, Room: "lobby", ID: "1", Body: "bye"})
	}
	srv.Close()
	if left := serverGoroutines(); left != "" {
		t.Fatalf("goroutines of the server left after Close:\n%s", left)
	}
}

// Close returns with clients connecting all the while: a connection whose
// upgrade lands as the loop stops is ended too, not left waiting on the
// socket poller (which Close would wait for, for ever, as nothing but its
// idle client could end it).
func TestCloseWhileClientsConnect(t *testing.T) {
	m := miniredis.RunT(t)
	srv := startNode(t, m, "a", func(cfg *Config) { cfg.Auth, cfg.Secret = false, nil })
	stop := make(chan struct{})
	var dialers sync.WaitGroup
	var conns sync.Map
	for d := range 8 {
		dialers.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ws, _, err := websocket.DefaultDialer.Dial(fmt.Sprintf("ws://%s/ws?user=d%d-%d", srv.Addr(), d, i), nil)
				if err != nil {
					continue
				}
				conns.Store(ws, true)
			}
		})
	}
	for deadline := time.Now().Add(testWait); ; time.Sleep(10 * time.Millisecond) {
		if snapshot, ok := srv.loop.requestSnapshot(t.Context()); ok && snapshot.Connections >= 8 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no connections opened")
		}
	}
	closed := make(chan struct{})
	go func() {
		srv.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(testWait):
		t.Fatal("Close did not return with clients connecting")
	}
	close(stop)
	dialers.Wait()
	conns.Range(func(ws, _ any) bool {
		ws.(*websocket.Conn).Close()
		return true
	})
}

// serverGoroutines returns the stacks of goroutines running the server's
// methods (the broker's and miniredis's own are not the server's).
func serverGoroutines() string {
	stacks := make([]byte, 1<<20)
	stacks = stacks[:runtime.Stack(stacks, true)]
	var left []string
	for _, stack := range strings.Split(string(stacks), "\n\n") {
		if strings.Contains(stack, "chatlab/system/server.(*") {
			left = append(left, stack)
		}
	}
	return strings.Join(left, "\n\n")
}

// Request headers are bounded at 16 KB on the public port and the admin one.
func TestHugeRequestHeadersAreRefused(t *testing.T) {
	m := miniredis.RunT(t)
	srv := startNode(t, m, "a", nil)
	for _, addr := range []string{srv.Addr(), srv.AdminAddr()} {
		for _, tc := range []struct {
			bytes  int
			status int
		}{{8 << 10, http.StatusOK}, {64 << 10, http.StatusRequestHeaderFieldsTooLarge}} {
			request, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/healthz", nil)
			request.Header.Set("X-Padding", strings.Repeat("x", tc.bytes))
			response, err := http.DefaultClient.Do(request)
			if err != nil {
				t.Fatalf("%d bytes of headers: %v", tc.bytes, err)
			}
			response.Body.Close()
			if response.StatusCode != tc.status {
				t.Errorf("%s: %d bytes of headers: %d, want %d", addr, tc.bytes, response.StatusCode, tc.status)
			}
		}
	}
}
