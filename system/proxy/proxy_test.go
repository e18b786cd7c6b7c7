package proxy

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"chatlab/system/balance"
	"chatlab/system/protocol"
)

func TestRelaysFramesBothWays(t *testing.T) {
	n1 := newEchoBackend(t, "n1")
	p := startProxy(t, balance.Config{}, balance.Backend{Name: "n1", Addr: n1.addr()})
	ws, welcome := dial(t, p, "user=alice")
	if welcome != "welcome from n1" {
		t.Fatalf("welcome %q", welcome)
	}
	// Small, medium (two-byte length) and large (eight-byte length, many
	// reads) frames, text and binary.
	for _, size := range []int{1, 125, 126, 5000, 70_000, 300_000} {
		kind := websocket.TextMessage
		if size%2 == 0 {
			kind = websocket.BinaryMessage
		}
		payload := bytes.Repeat([]byte{'a' + byte(size%26)}, size)
		if err := ws.WriteMessage(kind, payload); err != nil {
			t.Fatal(err)
		}
		gotKind, echoed, err := ws.ReadMessage()
		if err != nil || gotKind != kind || !bytes.Equal(echoed, payload) {
			t.Fatalf("size %d: echo kind %d len %d err %v", size, gotKind, len(echoed), err)
		}
	}
	// Pings pass through and the backend's pong comes back.
	ponged := make(chan struct{}, 1)
	ws.SetPongHandler(func(string) error { ponged <- struct{}{}; return nil })
	ws.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(time.Second))
	ws.WriteMessage(websocket.TextMessage, []byte("after ping"))
	if _, echoed, err := ws.ReadMessage(); err != nil || string(echoed) != "after ping" {
		t.Fatalf("after ping: %q %v", echoed, err)
	}
	select {
	case <-ponged:
	default:
		t.Fatal("no pong came back through the balancer")
	}
}

func TestCloseCodesPassThrough(t *testing.T) {
	n1 := newEchoBackend(t, "n1")
	p := startProxy(t, balance.Config{}, balance.Backend{Name: "n1", Addr: n1.addr()})

	// A node's 4000 reaches the client as 4000.
	ws, _ := dial(t, p, "user=alice")
	ws.WriteMessage(websocket.TextMessage, []byte("close:4000"))
	if code := readClose(t, ws); code != protocol.CloseReconnect {
		t.Fatalf("client saw close %d, want 4000", code)
	}
	select {
	case code := <-n1.closed:
		if code != protocol.CloseReconnect { // the client's reply, completing the handshake
			t.Fatalf("the node got the reply %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the node never saw the client's close reply")
	}
	// A client's close reaches the node with its code.
	ws2, _ := dial(t, p, "user=bob")
	ws2.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4321, "done"), time.Now().Add(time.Second))
	select {
	case code := <-n1.closed:
		if code != 4321 {
			t.Fatalf("node saw close %d, want 4321", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the node never saw the client's close")
	}
	eventually(t, "both links to end", func() bool { return p.State().Runtime.Links == 0 })
	if state := backendState(p, "n1"); state.Connections != 0 || state.Pending != 0 {
		t.Fatalf("after closes: %+v", state)
	}
}

func TestForwardsQueryAuthorizationOriginAndXForwardedFor(t *testing.T) {
	n1 := newEchoBackend(t, "n1")
	p := startProxy(t, balance.Config{}, balance.Backend{Name: "n1", Addr: n1.addr()})
	header := http.Header{}
	header.Set("Authorization", "Bearer not-a-jwt")
	header.Set("Origin", "http://chat.example")
	header.Set("X-Forwarded-For", "203.0.113.7")
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+p.Addr()+"/ws?user=alice&room=lobby", header)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	request := n1.lastRequest(t)
	checks := map[string][2]string{
		"query":           {request.URL.RawQuery, "user=alice&room=lobby"},
		"authorization":   {request.Header.Get("Authorization"), "Bearer not-a-jwt"},
		"origin":          {request.Header.Get("Origin"), "http://chat.example"},
		"x-forwarded-for": {request.Header.Get("X-Forwarded-For"), "203.0.113.7, 127.0.0.1"},
		"host":            {request.Host, p.Addr()},
	}
	for name, check := range checks {
		if check[0] != check[1] {
			t.Errorf("%s: backend saw %q, want %q", name, check[0], check[1])
		}
	}
}

func TestDialFailureRetriesOnAnotherBackend(t *testing.T) {
	n2 := newEchoBackend(t, "n2")
	p := startProxy(t, balance.Config{Policy: balance.RoundRobin, DialDownAfter: 1},
		balance.Backend{Name: "n1", Addr: deadAddr(t)}, balance.Backend{Name: "n2", Addr: n2.addr()})
	// Round-robin tries n1 first: its dial fails, n1 goes down (one
	// failure is enough here) and the same handshake lands on n2.
	_, welcome := dial(t, p, "user=alice")
	if welcome != "welcome from n2" {
		t.Fatalf("welcome %q", welcome)
	}
	n1 := backendState(p, "n1")
	if n1.Up || n1.Counters.DialFailures != 1 || n1.Counters.WentDown != 1 {
		t.Fatalf("n1 after a failed dial: %+v", n1)
	}
	// While n1 is down no client is sent there.
	for range 3 {
		if _, welcome := dial(t, p, "user=bob"); welcome != "welcome from n2" {
			t.Fatalf("welcome %q", welcome)
		}
	}
	if backendState(p, "n1").Counters.Picks != 1 {
		t.Fatal("a down backend was picked again")
	}
}

func TestNoBackendReachableIs502(t *testing.T) {
	p := startProxy(t, balance.Config{Policy: balance.RoundRobin},
		balance.Backend{Name: "n1", Addr: deadAddr(t)}, balance.Backend{Name: "n2", Addr: deadAddr(t)}, balance.Backend{Name: "n3", Addr: deadAddr(t)})
	_, response, err := websocket.DefaultDialer.Dial("ws://"+p.Addr()+"/ws?user=alice", nil)
	if err == nil || response == nil || response.StatusCode != http.StatusBadGateway {
		t.Fatalf("want 502, got %v %v", response, err)
	}
	body, _ := io.ReadAll(response.Body)
	if !strings.Contains(string(body), "no backend could be reached") {
		t.Fatalf("body %q", body)
	}
	// Exactly two dials (the first and one retry); the third backend untried.
	snapshot := p.State().Balancer
	if snapshot.Counters.DialFailures != 2 || snapshot.Backends[2].Counters.Picks != 0 {
		t.Fatalf("counters %+v", snapshot.Counters)
	}
	// Now everything tried is down and the next client is refused at once.
	_, response, _ = websocket.DefaultDialer.Dial("ws://"+p.Addr()+"/ws?user=bob", nil)
	if response == nil || response.StatusCode != http.StatusBadGateway {
		t.Fatalf("second client: %v", response)
	}
}

func TestBackendRefusalIsPassedOn(t *testing.T) {
	n1 := newEchoBackend(t, "n1")
	p := startProxy(t, balance.Config{}, balance.Backend{Name: "n1", Addr: n1.addr()})
	_, response, err := websocket.DefaultDialer.Dial("ws://"+p.Addr()+"/ws?user=intruder", nil)
	if err == nil || response == nil || response.StatusCode != http.StatusUnauthorized {
		t.Fatalf("want the backend's 401, got %v %v", response, err)
	}
	if state := backendState(p, "n1"); !state.Up || state.Pending != 0 {
		t.Fatalf("a client's bad token counted against the backend: %+v", state)
	}
}

func TestPlainHTTPOnWSIs426AndUnknownPathsAre404(t *testing.T) {
	n1 := newEchoBackend(t, "n1")
	p := startProxy(t, balance.Config{}, balance.Backend{Name: "n1", Addr: n1.addr()})
	response, err := http.Get("http://" + p.Addr() + "/ws")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(response.Body)
	response.Body.Close()
	if response.StatusCode != http.StatusUpgradeRequired || !strings.Contains(string(body), "WebSocket only") {
		t.Fatalf("plain GET /ws: %d %q", response.StatusCode, body)
	}
	response, err = http.Get("http://" + p.Addr() + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	response.Body.Close()
	if response.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown path: %d", response.StatusCode)
	}
}

func TestBackendThatDiesTellsClientToReconnect(t *testing.T) {
	n1 := newEchoBackend(t, "n1")
	p := startProxy(t, balance.Config{}, balance.Backend{Name: "n1", Addr: n1.addr()})
	ws, _ := dial(t, p, "user=alice")
	ws.WriteMessage(websocket.TextMessage, []byte("die"))
	if code := readClose(t, ws); code != protocol.CloseReconnect {
		t.Fatalf("client saw close %d, want 4000", code)
	}
	eventually(t, "the link to end", func() bool { return p.State().Runtime.Links == 0 })
}

func TestDrainBackendShedsItsClients(t *testing.T) {
	n1 := newEchoBackend(t, "n1")
	n2 := newEchoBackend(t, "n2")
	p := startProxy(t, balance.Config{Policy: balance.RoundRobin, ShedPerSecondMax: 100},
		balance.Backend{Name: "n1", Addr: n1.addr()}, balance.Backend{Name: "n2", Addr: n2.addr()})
	onN1, _ := dial(t, p, "user=alice")
	onN2, _ := dial(t, p, "user=bob")
	if !p.DrainBackend("n1") {
		t.Fatal("DrainBackend(n1)")
	}
	if code := readClose(t, onN1); code != protocol.CloseReconnect {
		t.Fatalf("n1's client saw %d", code)
	}
	// The shed client's close reached its node; n2's client is untouched.
	select {
	case code := <-n1.closed:
		if code != protocol.CloseReconnect {
			t.Fatalf("n1 saw close %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("n1 never saw the shed client's close")
	}
	onN2.WriteMessage(websocket.TextMessage, []byte("still here"))
	if _, echoed, err := onN2.ReadMessage(); err != nil || string(echoed) != "still here" {
		t.Fatalf("n2's client: %q %v", echoed, err)
	}
	// The reconnecting client lands on n2.
	if _, welcome := dial(t, p, "user=alice"); welcome != "welcome from n2" {
		t.Fatalf("after drain the client got %q", welcome)
	}
	if state := backendState(p, "n1"); !state.Draining || state.Connections != 0 || state.Counters.Sheds != 1 {
		t.Fatalf("n1 after drain: %+v", state)
	}
}

func TestBalancerDrainClosesEveryClientAndFailsHealth(t *testing.T) {
	n1 := newEchoBackend(t, "n1")
	p := startProxy(t, balance.Config{}, balance.Backend{Name: "n1", Addr: n1.addr()})
	var clients []*websocket.Conn
	for range 5 {
		ws, _ := dial(t, p, "user=alice")
		clients = append(clients, ws)
	}
	drained := make(chan bool)
	go func() { drained <- p.Drain() }()
	for _, ws := range clients {
		if code := readClose(t, ws); code != protocol.CloseReconnect {
			t.Fatalf("client saw %d", code)
		}
		ws.Close()
	}
	if !<-drained {
		t.Fatal("drain timed out")
	}
	response, err := http.Get("http://" + p.Addr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	response.Body.Close()
	if response.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("healthz while draining: %d", response.StatusCode)
	}
	_, response, _ = websocket.DefaultDialer.Dial("ws://"+p.Addr()+"/ws?user=late", nil)
	if response == nil || response.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("new client while draining: %v", response)
	}
}

func TestHealthChecksTakeADeadBackendDownAndBringItBack(t *testing.T) {
	n1 := newEchoBackend(t, "n1")
	addr := n1.addr()
	p := startProxy(t, balance.Config{HealthIntervalMs: 50, HealthDownAfter: 2, HealthUpAfter: 2},
		balance.Backend{Name: "n1", Addr: addr})
	eventually(t, "a first good check", func() bool { return p.State().Balancer.NowMs > 100 })
	n1.server.Close()
	eventually(t, "n1 to go down", func() bool { return !backendState(p, "n1").Up })
	newEchoBackendAt(t, "n1", addr)
	eventually(t, "n1 to come back", func() bool { return backendState(p, "n1").Up })
	if state := backendState(p, "n1"); state.Counters.WentDown != 1 || state.Counters.CameUp != 1 {
		t.Fatalf("transitions %+v", state.Counters)
	}
}

func TestMetricsAndStateDescribeTheBackends(t *testing.T) {
	n1 := newEchoBackend(t, "n1")
	p := startProxy(t, balance.Config{DialDownAfter: 1}, balance.Backend{Name: "n1", Addr: n1.addr()}, balance.Backend{Name: "n2", Addr: deadAddr(t)})
	dial(t, p, "user=alice")
	dial(t, p, "user=bob")
	response, err := http.Get("http://" + p.AdminAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(response.Body)
	response.Body.Close()
	for _, want := range []string{
		`chatlab_balancer_connections{backend="n1"} 2`,
		`chatlab_balancer_picks_total{backend="n1"} 2`,
		`chatlab_balancer_dial_failures_total{backend="n2"} 1`,
		`chatlab_balancer_health_transitions_total{backend="n2",to="down"} 1`,
		`chatlab_balancer_backend_up{backend="n2"} 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	response, err = http.Get("http://" + p.AdminAddr() + "/state")
	if err != nil {
		t.Fatal(err)
	}
	var state State
	err = json.NewDecoder(response.Body).Decode(&state)
	response.Body.Close()
	if err != nil || state.Runtime.Links != 2 || len(state.Balancer.Backends) != 2 || state.Balancer.Backends[0].Connections != 2 {
		t.Fatalf("/state: %+v %v", state, err)
	}
}
