package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"chatlab/system/admin"
	"chatlab/system/balance"
	"chatlab/system/socket"
)

// Config describes one balancer runtime.
type Config struct {
	// Listen is the TCP address to serve clients on (/ws, /healthz);
	// "127.0.0.1:0" picks a free port.
	Listen string
	// AdminListen is where the operator endpoints are served: /state,
	// /metrics and the drain API. Default 127.0.0.1:0: loopback only, a
	// free port (Proxy.AdminAddr says which).
	AdminListen string
	// AdminToken is the bearer token the drain API asks for; empty turns
	// the drain API off (every call answers 403).
	AdminToken string
	// Balance holds the backends, the policy and the limits (see package
	// balance); its HealthIntervalMs also paces the health checks here.
	Balance balance.Config
	// HealthPath is what a health check GETs on a backend (default /readyz).
	HealthPath string
	// HealthTimeout bounds one check; a timeout counts as a failure
	// (default half the health interval).
	HealthTimeout time.Duration
	// DialTimeout bounds the TCP dial to a backend (default 2 s).
	DialTimeout time.Duration
	// HandshakeTimeout bounds the backend's answer to the upgrade (default 5 s).
	HandshakeTimeout time.Duration
	// TickInterval is how often the balancer's clock advances (default 100 ms).
	TickInterval time.Duration
	// WriteWait bounds one write to a peer that stopped reading (default 10 s).
	WriteWait time.Duration
	// CloseWait bounds a closing link's wait for the other peer to hang up
	// (default 5 s).
	CloseWait time.Duration
	// SocketBufferBytes, when set, caps the kernel buffers of both sockets
	// of every link, so that a client that stops reading pushes back to its
	// node within that many bytes rather than megabytes.
	SocketBufferBytes int
	// IdleTimeout bounds an idle keep-alive HTTP connection (default 60 s,
	// as on the nodes); a relayed WebSocket is not HTTP and has no such
	// bound here.
	IdleTimeout time.Duration
	// DrainTimeout bounds Drain's wait for every link to end (default 10 s).
	DrainTimeout time.Duration
	// Logger receives structured logs (default slog.Default()).
	Logger *slog.Logger
}

const (
	// adminListenDefault keeps the operator endpoints on loopback unless
	// the operator says otherwise.
	adminListenDefault      = "127.0.0.1:0"
	healthPathDefault       = "/readyz"
	dialTimeoutDefault      = 2 * time.Second
	handshakeTimeoutDefault = 5 * time.Second
	// Ten ticks a second: rate limits and sheds are per second, so this is
	// fine enough, and cheap.
	tickIntervalDefault = 100 * time.Millisecond
	// As gorilla's chat example: a peer that cannot take a frame in 10 s
	// is cut off.
	writeWaitDefault    = 10 * time.Second
	closeWaitDefault    = 5 * time.Second
	drainTimeoutDefault = 10 * time.Second
	// healthIntervalMsDefault mirrors balance's default, to size the timeout.
	healthIntervalMsDefault = 1000
)

func (cfg *Config) check() error {
	if cfg.Listen == "" {
		return errors.New("proxy: config needs a Listen address")
	}
	if cfg.AdminListen == "" {
		cfg.AdminListen = adminListenDefault
	}
	if cfg.AdminToken != "" {
		if err := admin.CheckToken(cfg.AdminToken); err != nil {
			return fmt.Errorf("proxy: %w", err)
		}
	}
	if cfg.HealthPath == "" {
		cfg.HealthPath = healthPathDefault
	}
	if cfg.HealthTimeout <= 0 {
		interval := cfg.Balance.HealthIntervalMs
		if interval <= 0 {
			interval = healthIntervalMsDefault
		}
		cfg.HealthTimeout = time.Duration(interval) * time.Millisecond / 2
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = dialTimeoutDefault
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = handshakeTimeoutDefault
	}
	if cfg.TickInterval <= 0 {
		cfg.TickInterval = tickIntervalDefault
	}
	if cfg.WriteWait <= 0 {
		cfg.WriteWait = writeWaitDefault
	}
	if cfg.CloseWait <= 0 {
		cfg.CloseWait = closeWaitDefault
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = socket.HTTPIdleWait
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = drainTimeoutDefault
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return nil
}
