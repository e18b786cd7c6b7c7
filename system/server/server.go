package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"chatlab/system/admin"
	"chatlab/system/node"
	"chatlab/system/socket"
)

// Socket buffers. A small read buffer (handed to gorilla by hijackedReader)
// and pooled write buffers keep an idle connection's memory to the socket,
// its state and little else (no goroutine: readwait.go).
const (
	readBufferBytes  = 512
	writeBufferBytes = 4096
	// httpShutdownWait bounds the wait for plain HTTP requests on Close.
	httpShutdownWait = 2 * time.Second
)

// Server is one running node.
type Server struct {
	cfg        Config
	log        *slog.Logger
	listener   net.Listener
	http       *http.Server
	admin      *admin.Server
	upgrader   websocket.Upgrader
	loop       *loop
	caps       *connectionCaps
	metrics    *metrics
	goroutines group
	startedAt  time.Time

	// ctx ends when Close begins: broker calls and scrapes give up.
	ctx    context.Context
	cancel context.CancelFunc

	nextConn atomic.Uint64
	linkUp   atomic.Bool
	draining atomic.Bool

	closeOnce sync.Once
	serveDone chan struct{}
}

// Start listens on cfg.Listen and serves until Close. ctx bounds only the
// start itself.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	origins, err := parseOrigins(cfg.AllowedOrigins)
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
	s := &Server{cfg: cfg, log: cfg.Logger.With("node", cfg.ID), listener: listener, startedAt: time.Now(),
		serveDone: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.upgrader = websocket.Upgrader{
		// 0: the read buffer is the one hijackedReader hands over.
		ReadBufferSize:   0,
		WriteBufferSize:  writeBufferBytes,
		WriteBufferPool:  &sync.Pool{},
		HandshakeTimeout: socket.HTTPHeaderWait,
		CheckOrigin:      origins.check,
	}
	s.caps = newConnectionCaps(cfg.ConnectionsPerUserMax, cfg.ConnectionsPerIPMax)
	s.metrics = newMetrics(s)
	s.loop = newLoop(s, node.New(node.Config{
		ID:                    cfg.ID,
		Delivery:              cfg.Delivery,
		SendQueueLenMax:       cfg.SendQueueLenMax,
		RateBurst:             cfg.RateBurst,
		RatePerSecond:         cfg.RatePerSecond,
		FramesPerSecond:       cfg.FramesPerSecond,
		FrameBurst:            cfg.FrameBurst,
		BrokerCallsPerUserMax: cfg.BrokerCallsPerUserMax,
		RoomPollIntervalMs:    cfg.RoomPollInterval.Milliseconds(),
		RecentLenMax:          cfg.RecentLenMax,
		BrokerLostGraceMs:     cfg.BrokerLostGrace.Milliseconds(),
		Random:                newRandom(),
	}), cfg.Broker, cfg.SendQueueLenMax)
	s.http = &http.Server{Handler: s.routes(), ReadHeaderTimeout: socket.HTTPHeaderWait, IdleTimeout: socket.HTTPIdleWait,
		MaxHeaderBytes: socket.HTTPHeaderBytesMax, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	s.admin = admin.Serve(adminListener, s.adminRoutes(), s.log)
	s.goroutines.Go(s.loop.run)
	s.goroutines.Go(s.loop.brokerEvents)
	go s.serve()
	s.log.Info("node listening", "addr", s.Addr(), "admin_addr", s.AdminAddr(), "delivery", cfg.Delivery, "auth", cfg.Auth)
	if !cfg.Auth {
		s.log.Warn("auth is off: any client may claim any user; for lab runs only")
	}
	return s, nil
}

// newRandom seeds the node's injected randomness (epoch candidates) from
// the OS, so that two nodes or two runs never propose the same epoch.
func newRandom() func() uint64 {
	var seed [32]byte
	rand.Read(seed[:])
	return mathrand.New(mathrand.NewChaCha8(seed)).Uint64
}

func (s *Server) serve() {
	defer close(s.serveDone)
	if err := s.http.Serve(s.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.log.Error("serve failed", "err", err)
	}
}

// Addr is the address the server listens on, e.g. "127.0.0.1:41234".
func (s *Server) Addr() string { return s.listener.Addr().String() }

// AdminAddr is where /state and /metrics are served.
func (s *Server) AdminAddr() string { return s.admin.Addr() }

// Drain tells every client to reconnect elsewhere (close 4000), refuses
// new connections (/ws and /readyz answer 503) and waits, at most
// cfg.DrainTimeout, for every connection to be gone. It reports whether
// they all went in time.
func (s *Server) Drain() bool {
	if s.draining.Swap(true) {
		s.log.Info("drain already started")
	} else {
		s.log.Info("draining")
	}
	s.loop.submit(func(l *loop) { l.drain() })
	timer := time.NewTimer(s.cfg.DrainTimeout)
	defer timer.Stop()
	select {
	case <-s.loop.drained:
		s.log.Info("drained")
		return true
	case <-timer.C:
		s.log.Warn("drain timed out with connections left", "timeout", s.cfg.DrainTimeout)
		return false
	case <-s.loop.done:
		return false
	}
}

// Close stops serving, drops every connection and waits for every goroutine
// the server started. It does not close cfg.Broker.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.draining.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), httpShutdownWait)
		if err := s.http.Shutdown(ctx); err != nil {
			s.http.Close()
		}
		cancel()
		<-s.serveDone
		s.admin.Close()
		close(s.loop.stop)
		<-s.loop.done
		s.cancel()
		s.goroutines.closeAndWait()
		s.loop.closeSockets()
		s.log.Info("node closed")
	})
}

func (s *Server) setLinkUp(up bool) {
	if s.linkUp.Swap(up) != up {
		s.log.Info("broker link changed", "up", up)
	}
	if up {
		s.metrics.brokerLinkUp.Set(1)
	} else {
		s.metrics.brokerLinkUp.Set(0)
	}
}
