package proxy

import (
	"encoding/json"
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"chatlab/system/admin"
	"chatlab/system/balance"
)

// routes are the public port's: clients and probes only.
func (p *Proxy) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", p.serveWebSocket)
	mux.HandleFunc("GET /healthz", p.serveHealth)
	return mux
}

// adminRoutes are the operator's, on Config.AdminListen: /state names the
// nodes' addresses and the drain API moves every client, so neither is on
// the public port, and the actions are guarded (token, same site, logged).
func (p *Proxy) adminRoutes() http.Handler {
	guard := admin.NewGuard(p.config.AdminToken, p.log)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", p.serveHealth)
	mux.HandleFunc("GET /state", p.serveState)
	mux.HandleFunc("GET /decisions", p.serveDecisions)
	mux.Handle("GET /metrics", promhttp.HandlerFor(p.metrics.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("POST /backends/{name}/drain", guard.Action("drain", p.serveDrainBackend))
	mux.HandleFunc("POST /backends/{name}/undrain", guard.Action("undrain", p.serveUndrainBackend))
	admin.ServeProfiles(mux)
	return mux
}

// serveHealth answers 200 while the balancer takes clients, 503 once it
// drains, so that whatever routes to balancers stops sending them here.
func (p *Proxy) serveHealth(w http.ResponseWriter, _ *http.Request) {
	if p.draining.Load() {
		http.Error(w, "draining", http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ok\n"))
}

// State is /state's JSON: the balancer's snapshot plus runtime facts.
type State struct {
	Balancer balance.Snapshot `json:"balancer"`
	Runtime  RuntimeState     `json:"runtime"`
}

// RuntimeState holds what the runtime, not the balancer, knows.
type RuntimeState struct {
	Addr       string `json:"addr"`
	Draining   bool   `json:"draining"`
	Links      int    `json:"links"`
	UptimeMs   int64  `json:"uptime_ms"`
	Goroutines int    `json:"goroutines"`
	HeapBytes  uint64 `json:"heap_bytes"`
}

// State returns what /state serves.
func (p *Proxy) State() State {
	p.mu.Lock()
	snapshot := p.balancer.Snapshot()
	links := len(p.links)
	p.mu.Unlock()
	var memory runtime.MemStats
	runtime.ReadMemStats(&memory)
	return State{Balancer: snapshot, Runtime: RuntimeState{
		Addr:       p.Addr(),
		Draining:   p.draining.Load(),
		Links:      links,
		UptimeMs:   time.Since(p.startedAt).Milliseconds(),
		Goroutines: runtime.NumGoroutine(),
		HeapBytes:  memory.HeapAlloc,
	}}
}

func (p *Proxy) balanceSnapshot() balance.Snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.balancer.Snapshot()
}

func (p *Proxy) serveState(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(p.State())
}

func (p *Proxy) serveDrainBackend(w http.ResponseWriter, r *http.Request) {
	if !p.DrainBackend(r.PathValue("name")) {
		http.Error(w, "no such backend", http.StatusNotFound)
		return
	}
	w.Write([]byte("draining\n"))
}

func (p *Proxy) serveUndrainBackend(w http.ResponseWriter, r *http.Request) {
	if !p.UndrainBackend(r.PathValue("name")) {
		http.Error(w, "no such backend", http.StatusNotFound)
		return
	}
	w.Write([]byte("in rotation\n"))
}
