package proxy

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"chatlab/system/balance"
)

// echoBackend is a gorilla WebSocket server standing in for a node: it
// greets with its name, echoes every text message, closes with CODE on
// "close:CODE", drops the TCP connection on "die", and records what it saw.
type echoBackend struct {
	name   string
	server *httptest.Server

	mu       sync.Mutex
	requests []*http.Request
	closes   []int // close codes received from clients
	conns    []*websocket.Conn
	closed   chan int
}

func newEchoBackend(t testing.TB, name string) *echoBackend {
	return newEchoBackendAt(t, name, "127.0.0.1:0")
}

// newEchoBackendAt listens on addr: a node restarted on its old port.
func newEchoBackendAt(t testing.TB, name, addr string) *echoBackend {
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	b := &echoBackend{name: name, closed: make(chan int, 1024)}
	upgrader := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ready\n")) })
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("user") == "intruder" {
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		// The request is recorded before the upgrade answers: once the
		// client's dial returns, the test may look at it at once.
		b.mu.Lock()
		b.requests = append(b.requests, r)
		b.mu.Unlock()
		ws, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		b.mu.Lock()
		b.conns = append(b.conns, ws)
		b.mu.Unlock()
		go b.serve(ws)
	})
	b.server = httptest.NewUnstartedServer(mux)
	b.server.Listener.Close()
	b.server.Listener = listener
	b.server.Start()
	t.Cleanup(b.server.Close)
	return b
}

func (b *echoBackend) serve(ws *websocket.Conn) {
	defer ws.Close()
	ws.SetCloseHandler(func(code int, text string) error {
		b.mu.Lock()
		b.closes = append(b.closes, code)
		b.mu.Unlock()
		b.closed <- code
		return ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(time.Second))
	})
	if ws.WriteMessage(websocket.TextMessage, []byte("welcome from "+b.name)) != nil {
		return
	}
	for {
		kind, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		text := string(data)
		switch {
		case text == "die":
			ws.NetConn().Close()
			return
		case strings.HasPrefix(text, "flood:"):
			// flood:N writes N numbered 1 KiB frames back to back.
			count, _ := strconv.Atoi(strings.TrimPrefix(text, "flood:"))
			pad := strings.Repeat("x", 1000)
			for i := range count {
				if ws.WriteMessage(websocket.TextMessage, []byte(strconv.Itoa(i)+" "+pad)) != nil {
					return
				}
			}
			continue
		case strings.HasPrefix(text, "close:"):
			code, _ := strconv.Atoi(strings.TrimPrefix(text, "close:"))
			ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, "bye"), time.Now().Add(time.Second))
			continue
		}
		if ws.WriteMessage(kind, data) != nil {
			return
		}
	}
}

func (b *echoBackend) addr() string { return strings.TrimPrefix(b.server.URL, "http://") }

func (b *echoBackend) lastRequest(t testing.TB) *http.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.requests) == 0 {
		t.Fatal("the backend saw no upgrade")
	}
	return b.requests[len(b.requests)-1]
}

// deadAddr is an address nothing listens on.
func deadAddr(t testing.TB) string {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := listener.Addr().String()
	listener.Close()
	return addr
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startProxy runs a balancer in front of backends (name=addr pairs in order).
func startProxy(t testing.TB, config balance.Config, backends ...balance.Backend) *Proxy {
	t.Helper()
	config.Backends = backends
	if config.NewConnectionsPerSecondMax == 0 {
		config.NewConnectionsPerSecondMax = 100_000
	}
	p, err := Start(context.Background(), Config{
		Listen:    "127.0.0.1:0",
		Balance:   config,
		CloseWait: time.Second,
		Logger:    testLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// dial connects a client through the balancer and reads the welcome.
func dial(t testing.TB, p *Proxy, query string) (*websocket.Conn, string) {
	t.Helper()
	ws, response, err := websocket.DefaultDialer.Dial("ws://"+p.Addr()+"/ws?"+query, nil)
	if err != nil {
		status := 0
		if response != nil {
			status = response.StatusCode
		}
		t.Fatalf("dial through the balancer: %v (status %d)", err, status)
	}
	t.Cleanup(func() { ws.Close() })
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, welcome, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("welcome: %v", err)
	}
	return ws, string(welcome)
}

// readClose reads until the connection closes and returns the close code.
func readClose(t testing.TB, ws *websocket.Conn) int {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	// Each pass reads one message; the deadline ends the loop.
	for {
		_, _, err := ws.ReadMessage()
		if err == nil {
			continue
		}
		var closeErr *websocket.CloseError
		if ok := asCloseError(err, &closeErr); ok {
			return closeErr.Code
		}
		t.Fatalf("connection ended without a close frame: %v", err)
	}
}

func asCloseError(err error, target **websocket.CloseError) bool {
	closeErr, ok := err.(*websocket.CloseError)
	if ok {
		*target = closeErr
	}
	return ok
}

// eventually polls condition until it holds or the deadline passes. Real
// sockets settle asynchronously; the condition, not a sleep, is the check.
func eventually(t testing.TB, what string, condition func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !condition() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func backendState(p *Proxy, name string) balance.BackendState {
	for _, backend := range p.State().Balancer.Backends {
		if backend.Name == name {
			return backend
		}
	}
	return balance.BackendState{}
}

func testLogger() *slog.Logger {
	if os.Getenv("PROXY_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return quietLogger()
}
