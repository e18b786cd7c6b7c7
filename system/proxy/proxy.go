// Package proxy is the balancer's real runtime: an HTTP server whose /ws
// picks a backend with package balance, runs the WebSocket handshake with
// it on the client's behalf and, once the backend switched protocols, takes
// over the client's socket and relays bytes both ways.
//
// The relay copies raw bytes (frames pass through untouched, close codes
// included). On Linux an idle direction has no goroutine: the process's
// socket poller (socket.SharedPoller, epoll) runs a pass when its socket is
// readable, which borrows a buffer from a pool for one read and arms the
// socket again; an idle connection holds two sockets, no goroutine and no
// buffer. Elsewhere each direction has a goroutine that waits for its
// socket on a shallow stack. Sockets are shut down, not closed, to end a
// link early (a closed socket would leave its poller wait hanging).
// It tracks frame boundaries, so that the proxy's own close frames (shed,
// drain, a backend that died) never land inside a relayed frame.
//
// One mutex serializes every input to the balance state machine; after each
// input the runtime carries out Ready(): health checks (GET HealthPath on
// each backend, a goroutine per check), sheds (close 4000 "reconnect") and
// transitions (logged). A ticker drives balance.Tick.
//
//	p, err := proxy.Start(ctx, proxy.Config{Listen: "127.0.0.1:0", Balance: balance.Config{...}})
//	p.Addr()            // where clients connect: /ws, /healthz
//	p.AdminAddr()       // the operator's: /state, /decisions, /metrics, POST /backends/NAME/drain (token)
//	p.DrainBackend("n1") // move a backend's clients off, at the shed rate
//	p.Drain()           // SIGTERM: refuse new clients, tell every client to reconnect
//	p.Close()
package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"chatlab/system/admin"
	"chatlab/system/balance"
	"chatlab/system/socket"
)

// readHeaderWait bounds a client's request headers.
const readHeaderWait = 10 * time.Second

// Proxy is one running balancer.
type Proxy struct {
	config    Config
	log       *slog.Logger
	listener  net.Listener
	http      *http.Server
	admin     *admin.Server
	backends  map[string]balance.Backend
	health    *http.Client
	metrics   *metrics
	startedAt time.Time

	// mu guards balancer and links: the state machine's one lock.
	mu       sync.Mutex
	balancer *balance.Balancer
	links    map[balance.ConnID]*link
	// decisions is the balancer's decision log, for /decisions.
	decisions decisionLog
	// linksGone is closed (and replaced) whenever the last link ends.
	linksGone chan struct{}

	nextConn atomic.Uint64
	draining atomic.Bool

	stopTicks chan struct{}
	ticksDone chan struct{}
	serveDone chan struct{}
	closeOnce sync.Once
}

// Start listens on cfg.Listen and serves until Close. ctx bounds only the
// start itself.
func Start(ctx context.Context, cfg Config) (*Proxy, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	balancer, err := balance.New(cfg.Balance)
	if err != nil {
		return nil, err
	}
	var listenConfig net.ListenConfig
	listener, err := listenConfig.Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		return nil, err
	}
	adminListener, err := listenConfig.Listen(ctx, "tcp", cfg.AdminListen)
	if err != nil {
		listener.Close()
		return nil, fmt.Errorf("admin listener: %w", err)
	}
	p := &Proxy{
		config:    cfg,
		log:       cfg.Logger.With("balancer", listener.Addr().String()),
		listener:  listener,
		backends:  map[string]balance.Backend{},
		health:    &http.Client{Timeout: cfg.HealthTimeout},
		startedAt: time.Now(),
		balancer:  balancer,
		links:     map[balance.ConnID]*link{},
		linksGone: make(chan struct{}),
		stopTicks: make(chan struct{}),
		ticksDone: make(chan struct{}),
		serveDone: make(chan struct{}),
	}
	for _, backend := range balancer.Backends() {
		p.backends[backend.Name] = backend
	}
	policy := balancer.Snapshot().Policy
	p.metrics = newMetrics(p)
	p.http = &http.Server{Handler: p.routes(), ReadHeaderTimeout: readHeaderWait, IdleTimeout: cfg.IdleTimeout,
		MaxHeaderBytes: socket.HTTPHeaderBytesMax,
		ErrorLog:       slog.NewLogLogger(p.log.Handler(), slog.LevelWarn)}
	p.admin = admin.Serve(adminListener, p.adminRoutes(), p.log)
	go p.tick()
	go p.serve()
	p.log.Info("balancer listening", "addr", p.Addr(), "admin_addr", p.AdminAddr(), "policy", policy, "backends", len(p.backends))
	return p, nil
}

func (p *Proxy) serve() {
	defer close(p.serveDone)
	if err := p.http.Serve(p.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
		p.log.Error("serve failed", "err", err)
	}
}

// Addr is the address the balancer listens on.
func (p *Proxy) Addr() string { return p.listener.Addr().String() }

// AdminAddr is where /state, /metrics and the drain API are served.
func (p *Proxy) AdminAddr() string { return p.admin.Addr() }

// tick drives the balancer's clock (milliseconds since start, monotonic).
func (p *Proxy) tick() {
	defer close(p.ticksDone)
	ticker := time.NewTicker(p.config.TickInterval)
	defer ticker.Stop()
	p.step(func(b *balance.Balancer) { b.Tick(0) })
	for {
		select {
		case <-p.stopTicks:
			return
		case <-ticker.C:
			nowMs := time.Since(p.startedAt).Milliseconds()
			p.step(func(b *balance.Balancer) { b.Tick(nowMs) })
		}
	}
}

// step feeds one input to the balancer under the lock and carries out what
// it asks, outside the lock.
func (p *Proxy) step(input func(b *balance.Balancer)) {
	p.mu.Lock()
	input(p.balancer)
	ready := p.balancer.Ready()
	p.decisions.append(ready.Decisions)
	sheds := make([]*link, 0, len(ready.Sheds))
	for _, shed := range ready.Sheds {
		// A shed link is gone to the balancer already; one that ended on
		// its own in the meantime needs nothing.
		if l := p.links[shed.Conn]; l != nil {
			sheds = append(sheds, l)
			p.metrics.sheds.WithLabelValues(shed.Backend, string(shed.Reason)).Inc()
		}
	}
	p.mu.Unlock()
	for _, transition := range ready.Transitions {
		p.log.Warn("backend health changed", "backend", transition.Backend, "up", transition.Up, "reason", transition.Reason)
	}
	for _, name := range ready.HealthChecks {
		go p.checkHealth(p.backends[name])
	}
	for _, l := range sheds {
		go l.shed("reconnect")
	}
}

// checkHealth GETs the backend's health path and reports the answer.
func (p *Proxy) checkHealth(backend balance.Backend) {
	ok := false
	response, err := p.health.Get("http://" + backend.Addr + p.config.HealthPath)
	if err == nil {
		ok = response.StatusCode == http.StatusOK
		response.Body.Close()
	}
	p.step(func(b *balance.Balancer) { b.HealthResult(backend.Name, ok) })
}

func (p *Proxy) linkClosed(l *link) {
	p.step(func(b *balance.Balancer) {
		b.Closed(l.id)
		delete(p.links, l.id)
		if len(p.links) == 0 {
			close(p.linksGone)
			p.linksGone = make(chan struct{})
		}
	})
}

// DrainBackend takes a backend out of rotation and moves its clients off at
// the shed rate. It reports whether the backend exists.
func (p *Proxy) DrainBackend(name string) bool {
	var ok bool
	p.step(func(b *balance.Balancer) { ok = b.Drain(name) })
	if ok {
		p.log.Info("draining backend", "backend", name)
	}
	return ok
}

// UndrainBackend puts a drained backend back into rotation.
func (p *Proxy) UndrainBackend(name string) bool {
	var ok bool
	p.step(func(b *balance.Balancer) { ok = b.Undrain(name) })
	if ok {
		p.log.Info("backend back in rotation", "backend", name)
	}
	return ok
}

// Drain refuses new clients (/ws and /healthz answer 503), tells every
// client to reconnect (close 4000) and waits, at most DrainTimeout, for
// every link to end. It reports whether they all did.
func (p *Proxy) Drain() bool {
	p.draining.Store(true)
	p.mu.Lock()
	links := make([]*link, 0, len(p.links))
	for _, l := range p.links {
		links = append(links, l)
	}
	gone := p.linksGone
	empty := len(p.links) == 0
	p.mu.Unlock()
	p.log.Info("draining", "connections", len(links))
	if empty {
		return true
	}
	for _, l := range links {
		l.shed("balancer draining: reconnect")
	}
	timer := time.NewTimer(p.config.DrainTimeout)
	defer timer.Stop()
	select {
	case <-gone:
		p.log.Info("drained")
		return true
	case <-timer.C:
		p.log.Warn("drain timed out with connections left", "timeout", p.config.DrainTimeout)
		return false
	}
}

// Close stops serving and ticking and cuts every link.
func (p *Proxy) Close() {
	p.closeOnce.Do(func() {
		p.draining.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), readHeaderWait)
		if err := p.http.Shutdown(ctx); err != nil {
			p.http.Close()
		}
		cancel()
		<-p.serveDone
		p.admin.Close()
		close(p.stopTicks)
		<-p.ticksDone
		p.mu.Lock()
		for _, l := range p.links {
			l.abortSockets()
		}
		p.mu.Unlock()
		p.log.Info("balancer closed")
	})
}
