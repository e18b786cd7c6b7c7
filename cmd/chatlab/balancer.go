package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"chatlab/system/balance"
	"chatlab/system/proxy"
)

// Bounds on the balancer's flags: beyond them a value is a typo.
const (
	balancerBackendsFlagMax   = 256
	balancerCountFlagMax      = 1 << 20
	balancerDurationFlagMax   = 10 * time.Minute
	balancerHealthIntervalMin = 10 * time.Millisecond
	balancerStartTimeoutWait  = 10 * time.Second
)

func runBalancer(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	config, code, done := parseBalancerFlags(args, stdout, stderr)
	if done {
		return code
	}
	startCtx, cancel := context.WithTimeout(ctx, balancerStartTimeoutWait)
	p, err := proxy.Start(startCtx, config)
	cancel()
	if err != nil {
		config.Logger.Error("start failed", "err", err)
		return 1
	}
	<-ctx.Done()
	config.Logger.Info("signal received: draining")
	p.Drain()
	p.Close()
	return 0
}

// parseBalancerFlags validates every flag; done reports that the command
// must return code now.
func parseBalancerFlags(args []string, stdout, stderr io.Writer) (config proxy.Config, code int, done bool) {
	flags := newFlagSet("balancer", "Run the WebSocket load balancer: clients connect at ws://ADDR/ws and are proxied to a node;\n"+
		"probes ask /healthz. On --admin-listen (loopback by default): /metrics, /state, and POST\n"+
		"/backends/NAME/drain (and /undrain), which moves a node's clients off and needs\n"+
		"Authorization: Bearer <the --admin-token-file token>. SIGTERM or SIGINT drains the balancer:\n"+
		"clients are told (close 4000) to reconnect.", stdout, stderr)
	listen := flags.String("listen", ":8000", "address to serve clients on, host:port")
	adminListen := flags.String("admin-listen", adminListenDefault, "address to serve /metrics, /state and the drain API on, host:port (port 0: a free one, logged)")
	adminTokenFile := flags.String("admin-token-file", "", "`file` holding the bearer token the drain API asks for (16 characters at least); without it the drain API is off")
	backends := flags.String("backends", "", "the nodes, NAME=HOST:PORT,... (required)")
	policy := flags.String("policy", string(balance.LeastConnections), "round-robin, least-conn or hash-user")
	rebalance := flags.Bool("rebalance", false, "when a node comes back, shed connections from the fullest nodes until the spread is within --rebalance-spread")
	rebalanceSpread := flags.Float64("rebalance-spread", 0.2, "spread (max-min connections) tolerated, as a fraction of the mean")
	shedPerSecond := flags.Int("shed-per-second", 10, "connections shed per second at most (drain and rebalance)")
	healthInterval := flags.Duration("health-interval", time.Second, "time between health checks (GET /readyz) of each node")
	healthDownAfter := flags.Int("health-down-after", 2, "failed checks in a row that take a node out")
	healthUpAfter := flags.Int("health-up-after", 2, "good checks in a row that bring it back")
	dialDownAfter := flags.Int("dial-down-after", 2, "failed dials in a row that take a node out (a client that gives up during its dial never counts)")
	connectionsMax := flags.Int("connections-per-backend-max", 10000, "connections per node at most")
	newPerSecond := flags.Int("new-connections-per-second", 200, "new connections per second accepted (the rest get 503, Retry-After: 1)")
	newPerSourcePerSecond := flags.Int("new-connections-per-ip-per-second", 0, "new connections per second accepted from one client address (the rest get 503, Retry-After: 1); 0: a quarter of --new-connections-per-second")
	newPerSourceBurst := flags.Int("new-connections-per-ip-burst", 0, "new connections accepted at once from one client address; 0: twice its per-second rate")
	newBurst := flags.Int("new-connections-burst", 0, "new connections accepted at once (default twice the per-second rate)")
	loadFactor := flags.Float64("hash-load-factor", 1.25, "hash-user: a node carries at most this times the mean")
	socketBuffer := flags.Int("socket-buffer", 0, "cap each relayed socket's kernel buffers at this many `bytes` (0: the kernel's own); a capped socket retransmits at most 1s apart")
	drainTimeout := flags.Duration("drain-timeout", 10*time.Second, "how long a drain waits for clients to go")
	writeWait := flags.Duration("write-wait", 10*time.Second, "how long one relayed write to a peer that stopped reading may take before the link is cut")
	logFormat := flags.String("log-format", "text", "log format: text or json")
	logLevel := flags.String("log-level", "info", "log level: debug, info, warn or error")
	if code, done := flags.parse(args); done {
		return proxy.Config{}, code, true
	}
	fail := func(format string, args ...any) (proxy.Config, int, bool) {
		return proxy.Config{}, flags.usageError(format, args...), true
	}
	if err := checkListen(*listen); err != nil {
		return fail("%s", err)
	}
	if err := checkAdminListen(*adminListen); err != nil {
		return fail("%s", err)
	}
	adminToken, err := loadAdminToken(*adminTokenFile)
	if err != nil {
		return fail("%s", err)
	}
	backendList, err := parseBackends(*backends)
	if err != nil {
		return fail("%s", err)
	}
	chosen, ok := balance.ParsePolicy(*policy)
	if !ok {
		return fail("--policy %q: want round-robin, least-conn or hash-user", *policy)
	}
	for _, bound := range []struct {
		name  string
		value int
		min   int
	}{{"shed-per-second", *shedPerSecond, 1}, {"health-down-after", *healthDownAfter, 1}, {"health-up-after", *healthUpAfter, 1},
		{"dial-down-after", *dialDownAfter, 1},
		{"connections-per-backend-max", *connectionsMax, 1}, {"new-connections-per-second", *newPerSecond, 1},
		{"new-connections-burst", *newBurst, 0}, {"new-connections-per-ip-per-second", *newPerSourcePerSecond, 0},
		{"new-connections-per-ip-burst", *newPerSourceBurst, 0}} {
		if bound.value < bound.min || bound.value > balancerCountFlagMax {
			return fail("--%s %d: want %d to %d", bound.name, bound.value, bound.min, balancerCountFlagMax)
		}
	}
	if *healthInterval < balancerHealthIntervalMin || *healthInterval > balancerDurationFlagMax {
		return fail("--health-interval %s: want %s to %s", *healthInterval, balancerHealthIntervalMin, balancerDurationFlagMax)
	}
	if *drainTimeout <= 0 || *drainTimeout > balancerDurationFlagMax {
		return fail("--drain-timeout %s: want more than 0 and at most %s", *drainTimeout, balancerDurationFlagMax)
	}
	if *writeWait <= 0 || *writeWait > balancerDurationFlagMax {
		return fail("--write-wait %s: want more than 0 and at most %s", *writeWait, balancerDurationFlagMax)
	}
	if *rebalanceSpread <= 0 || *rebalanceSpread > 10 {
		return fail("--rebalance-spread %g: want more than 0 and at most 10", *rebalanceSpread)
	}
	if *loadFactor <= 1 || *loadFactor > 100 {
		return fail("--hash-load-factor %g: want more than 1 and at most 100", *loadFactor)
	}
	if err := checkSocketBuffer(*socketBuffer); err != nil {
		return fail("%s", err)
	}
	logger, err := newLogger(*logFormat, *logLevel, stderr)
	if err != nil {
		return fail("%s", err)
	}
	return proxy.Config{
		Listen:      *listen,
		AdminListen: *adminListen,
		AdminToken:  adminToken,
		Balance: balance.Config{
			Backends:                            backendList,
			Policy:                              chosen,
			HealthIntervalMs:                    healthInterval.Milliseconds(),
			HealthDownAfter:                     *healthDownAfter,
			HealthUpAfter:                       *healthUpAfter,
			DialDownAfter:                       *dialDownAfter,
			ConnectionsPerBackendMax:            *connectionsMax,
			NewConnectionsPerSecondMax:          *newPerSecond,
			NewConnectionsBurst:                 *newBurst,
			NewConnectionsPerSourcePerSecondMax: *newPerSourcePerSecond,
			NewConnectionsPerSourceBurst:        *newPerSourceBurst,
			HashLoadFactor:                      *loadFactor,
			Rebalance:                           *rebalance,
			RebalanceSpreadMax:                  *rebalanceSpread,
			ShedPerSecondMax:                    *shedPerSecond,
		},
		SocketBufferBytes: *socketBuffer,
		DrainTimeout:      *drainTimeout,
		WriteWait:         *writeWait,
		Logger:            logger,
	}, 0, false
}

// parseBackends reads NAME=HOST:PORT,... into backends, each name a valid
// node id and used once.
func parseBackends(list string) ([]balance.Backend, error) {
	if list == "" {
		return nil, fmt.Errorf("--backends is required, e.g. n1=127.0.0.1:8081,n2=127.0.0.1:8082")
	}
	entries := strings.Split(list, ",")
	if len(entries) > balancerBackendsFlagMax {
		return nil, fmt.Errorf("--backends: %d nodes, at most %d", len(entries), balancerBackendsFlagMax)
	}
	seen := map[string]bool{}
	backends := make([]balance.Backend, 0, len(entries))
	for _, entry := range entries {
		name, addr, found := strings.Cut(strings.TrimSpace(entry), "=")
		if !found {
			return nil, fmt.Errorf("--backends: %q is not NAME=HOST:PORT", entry)
		}
		if err := checkNodeID(name); err != nil {
			return nil, fmt.Errorf("--backends: node name %q: want 1 to 32 characters of A-Z a-z 0-9 . _ -", name)
		}
		if err := checkListen(addr); err != nil || strings.HasPrefix(addr, ":") {
			return nil, fmt.Errorf("--backends: %s=%q: want HOST:PORT", name, addr)
		}
		if seen[name] {
			return nil, fmt.Errorf("--backends: node %q named twice", name)
		}
		seen[name] = true
		backends = append(backends, balance.Backend{Name: name, Addr: addr})
	}
	return backends, nil
}
