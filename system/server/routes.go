package server

import (
	"encoding/json"
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"chatlab/system/admin"
	"chatlab/system/node"
	"chatlab/system/socket"
)

// routes are the public port's: clients and probes only. What lists rooms,
// users and runtime figures is on the admin port (adminRoutes).
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", s.serveWebSocket)
	mux.HandleFunc("GET /healthz", s.serveHealth)
	mux.HandleFunc("GET /readyz", s.serveReady)
	return mux
}

// adminRoutes are the operator's, on Config.AdminListen (loopback by
// default); the probes answer there too, for an operator's convenience.
func (s *Server) adminRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.serveHealth)
	mux.HandleFunc("GET /readyz", s.serveReady)
	mux.HandleFunc("GET /state", s.serveState)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}))
	// Go's profiles, for finding where a loaded node spends its time.
	admin.ServeProfiles(mux)
	return mux
}

// serveWebSocket authenticates, upgrades, starts the connection's reads and
// returns, so that net/http frees the request's buffers.
func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		http.Error(w, "draining: reconnect to another node", http.StatusServiceUnavailable)
		return
	}
	access, err := s.authenticate(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	user := access.User
	ip := socket.HostOf(r.RemoteAddr)
	if err := s.caps.acquire(user, ip); err != nil {
		s.log.Info("connection refused", "reason", err, "remote", r.RemoteAddr)
		http.Error(w, "too many connections: "+err.Error(), http.StatusTooManyRequests)
		return
	}
	hijack := &hijackedReader{ResponseWriter: w}
	ws, err := s.upgrader.Upgrade(hijack, r, nil)
	if err != nil {
		// The upgrader has answered with the HTTP error.
		s.log.Debug("upgrade failed", "err", err, "remote", r.RemoteAddr)
		s.caps.release(user, ip)
		return
	}
	socket.CapBuffers(ws.NetConn(), s.cfg.SocketBufferBytes)
	c := &conn{id: node.ConnID(s.nextConn.Add(1)), access: access, ws: ws, reader: hijack.reader}
	if !s.goroutines.enter() {
		ws.Close()
		s.caps.release(user, ip)
		return
	}
	ended := func() {
		s.caps.release(user, ip)
		s.goroutines.leave()
	}
	s.loop.startReading(c)
	if !s.loop.submit(func(l *loop) { l.open(c) }) {
		ws.Close()
		ended()
		return
	}
	if !s.loop.watchReads(c, ended) {
		go func() {
			s.loop.read(c)
			ended()
		}()
	}
	if s.loop.stopping.Load() {
		// The loop may have stopped without shutting this one down.
		shutdown(ws.NetConn())
	}
}

// serveHealth answers while the process serves HTTP at all.
func (s *Server) serveHealth(w http.ResponseWriter, _ *http.Request) {
	w.Write([]byte("ok\n"))
}

// serveReady says whether a balancer should send clients here: not while
// the broker link is down (sends would fail) nor while draining.
func (s *Server) serveReady(w http.ResponseWriter, _ *http.Request) {
	switch {
	case s.draining.Load():
		http.Error(w, "draining", http.StatusServiceUnavailable)
	case !s.linkUp.Load():
		http.Error(w, "broker link down", http.StatusServiceUnavailable)
	default:
		w.Write([]byte("ready\n"))
	}
}

// State is /state's JSON: the node's snapshot plus runtime facts.
type State struct {
	Node    node.Snapshot `json:"node"`
	Runtime RuntimeState  `json:"runtime"`
}

// RuntimeState holds what the runtime, not the node, knows.
type RuntimeState struct {
	Addr         string `json:"addr"`
	Auth         bool   `json:"auth"`
	BrokerLinkUp bool   `json:"broker_link_up"`
	Draining     bool   `json:"draining"`
	UptimeMs     int64  `json:"uptime_ms"`
	Goroutines   int    `json:"goroutines"`
	HeapBytes    uint64 `json:"heap_bytes"`
}

func (s *Server) serveState(w http.ResponseWriter, r *http.Request) {
	snapshot, ok := s.loop.requestSnapshot(r.Context())
	if !ok {
		http.Error(w, "node is not answering", http.StatusServiceUnavailable)
		return
	}
	var memory runtime.MemStats
	runtime.ReadMemStats(&memory)
	state := State{Node: snapshot, Runtime: RuntimeState{
		Addr:         s.Addr(),
		Auth:         s.cfg.Auth,
		BrokerLinkUp: s.linkUp.Load(),
		Draining:     s.draining.Load(),
		UptimeMs:     time.Since(s.startedAt).Milliseconds(),
		Goroutines:   runtime.NumGoroutine(),
		HeapBytes:    memory.HeapAlloc,
	}}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(state)
}
