package server

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"chatlab/system/broker"
	"chatlab/system/node"
)

// Config describes one node runtime.
type Config struct {
	// ID names the node ("n1"); it appears in welcome frames, metrics and /state.
	ID string
	// Listen is the TCP address to serve clients on (/ws, /healthz,
	// /readyz); "127.0.0.1:0" picks a free port.
	Listen string
	// AdminListen is where the operator endpoints are served: /state and
	// /metrics (which name rooms, users and figures no client should see),
	// plus the probes. Default 127.0.0.1:0: loopback only, a free port
	// (Server.AdminAddr says which).
	AdminListen string
	// Broker links the node to the cluster. The caller owns it and closes it
	// after the server is closed.
	Broker broker.Broker
	// Delivery is recover (default when empty) or pubsub; the Broker must
	// have been built for the same mode.
	Delivery node.Delivery
	// Auth requires a signed token on /ws. Off takes the user from ?user=
	// and exists for lab runs only.
	Auth bool
	// Secret is the HS256 key for tokens; required when Auth is on.
	Secret []byte
	// RoomsOpen says whether a connection whose token has no rooms claim
	// (or any connection under auth off) may join every room; otherwise
	// such a connection may join none. Nil takes the default: closed
	// with auth on, open with auth off.
	RoomsOpen *bool
	// AllowedOrigins lists the browser origins that may connect: empty
	// means the same host only, "*" allows every origin.
	AllowedOrigins []string
	// SendQueueLenMax, RateBurst and RatePerSecond tune the node (zero
	// takes the node's default).
	SendQueueLenMax int
	RateBurst       int
	RatePerSecond   int
	// FramesPerSecond, FrameBurst and BrokerCallsPerUserMax bound what one
	// connection, and one user, may ask of the node (see node.Config; zero
	// takes the node's default).
	FramesPerSecond       int
	FrameBurst            int
	BrokerCallsPerUserMax int
	// BrokerLostGrace is how long the broker link may be down before the
	// node closes its clients with 4000 and refuses new ones until it is
	// back (node.Config.BrokerLostGraceMs; zero takes the node's default,
	// below zero never).
	BrokerLostGrace time.Duration
	// RecentLenMax is how many of each room's last messages the node keeps
	// for resuming members (zero takes the node's default).
	RecentLenMax int
	// RoomPollInterval is how often each room with members asks the broker
	// for anything the node missed (zero takes the node's default, 2 s).
	RoomPollInterval time.Duration
	// ConnectionsPerUserMax bounds one user's open connections (default
	// 100); ConnectionsPerIPMax bounds those from one client address (0,
	// the default: no bound, since behind a balancer every client has the
	// balancer's address). Beyond either the upgrade gets 429.
	ConnectionsPerUserMax int
	ConnectionsPerIPMax   int
	// SocketBufferBytes, when set, caps each client socket's kernel send
	// buffer. The kernel's default grows to megabytes, which hides a slow
	// consumer from the send queue for a long time; a small buffer makes
	// one show within seconds (the lab's real targets use that).
	SocketBufferBytes int
	// DrainTimeout bounds how long Drain waits for clients to be told and
	// gone (default 5 s).
	DrainTimeout time.Duration
	// WriteTimeout bounds one batch of writes to a client (default 10 s):
	// a client that stops reading is cut off within it.
	WriteTimeout time.Duration
	// PongWait is how long a client may stay silent, answers to pings
	// included, before it is dropped (default 60 s).
	PongWait time.Duration
	// PingPeriod is how often each connection is pinged (default 9/10 of
	// PongWait); a healthy client has PongWait - PingPeriod to answer.
	PingPeriod time.Duration
	// Logger receives the runtime's structured logs (default slog.Default()).
	Logger *slog.Logger
}

const (
	// adminListenDefault keeps the operator endpoints off every network
	// interface but loopback unless the operator says otherwise.
	adminListenDefault  = "127.0.0.1:0"
	DrainTimeoutDefault = 5 * time.Second
	// sendQueueLenMaxDefault is the node's own default, named here because
	// the runtime sizes its write batches from it.
	sendQueueLenMaxDefault = 256
)

func (cfg *Config) check() error {
	if cfg.ID == "" {
		return errors.New("server: config needs an ID")
	}
	if cfg.Broker == nil {
		return errors.New("server: config needs a Broker")
	}
	if cfg.Delivery == "" {
		cfg.Delivery = node.Recover
	}
	if _, ok := node.ParseDelivery(string(cfg.Delivery)); !ok {
		return fmt.Errorf("server: delivery %q is not recover or pubsub", cfg.Delivery)
	}
	if cfg.Auth {
		if err := CheckSecret(cfg.Secret); err != nil {
			return fmt.Errorf("server: auth is on: %w", err)
		}
	}
	if cfg.RoomsOpen == nil {
		open := !cfg.Auth
		cfg.RoomsOpen = &open
	}
	if cfg.AdminListen == "" {
		cfg.AdminListen = adminListenDefault
	}
	if cfg.ConnectionsPerUserMax <= 0 {
		cfg.ConnectionsPerUserMax = ConnectionsPerUserMaxDefault
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = DrainTimeoutDefault
	}
	if cfg.SendQueueLenMax <= 0 {
		cfg.SendQueueLenMax = sendQueueLenMaxDefault
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = WriteTimeoutDefault
	}
	if cfg.PongWait <= 0 {
		cfg.PongWait = PongWaitDefault
	}
	if cfg.PingPeriod <= 0 {
		cfg.PingPeriod = cfg.PongWait * 9 / 10
	}
	if cfg.PingPeriod >= cfg.PongWait {
		return fmt.Errorf("server: ping period %s must be shorter than the pong wait %s", cfg.PingPeriod, cfg.PongWait)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return nil
}
