package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"chatlab/system/broker"
	"chatlab/system/broker/redisscript"
	"chatlab/system/node"
	"chatlab/system/server"
)

// Bounds on the node's tuning flags: beyond them a value is a typo, not a
// configuration.
const (
	sendQueueLenFlagMax  = 1 << 16
	rateFlagMax          = 1 << 20
	brokerCallsFlagMax   = 4096
	roomIdleTTLFlagMax   = 10 * 365 * 24 * time.Hour
	recentLenFlagMax     = 1 << 20
	historyLenFlagMax    = 1 << 24
	pubSubBufferFlagMax  = 1 << 20
	replicasAckFlagMax   = 16
	drainTimeoutFlagMax  = 10 * time.Minute
	nodeStartTimeoutWait = 10 * time.Second
)

// nodeOptions is a validated `chatlab node` command line.
type nodeOptions struct {
	server   server.Config
	redisURL string
	// redisCluster, when set, are Redis Cluster nodes to use instead of
	// redisURL.
	redisCluster []string
	// redisReplicasAck is how many replicas a write must reach before the
	// node acks or shows it.
	redisReplicasAck int
	// redisEpochFence: a room first used after a failover starts a new
	// epoch.
	redisEpochFence bool
	// historyLenMax is how many messages each room's Redis stream keeps.
	historyLenMax int
	// roomIdleTTLSeconds is how long an idle room's keys last (-1: for ever).
	roomIdleTTLSeconds int
	// pubSubBuffer is how many pub/sub events the broker link holds for
	// the node (broker.RedisConfig.EventsLenMax).
	pubSubBuffer int
}

func runNode(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	options, code, done := parseNodeFlags(args, stdout, stderr)
	if done {
		return code
	}
	logger := options.server.Logger
	cfg := broker.RedisConfig{URL: options.redisURL, Delivery: options.server.Delivery,
		HistoryLenMax: options.historyLenMax, RoomIdleTTLSeconds: options.roomIdleTTLSeconds,
		EventsLenMax: options.pubSubBuffer, ReplicasAck: options.redisReplicasAck,
		EpochFence: options.redisEpochFence}
	var b *broker.Redis
	var err error
	if len(options.redisCluster) > 0 {
		cfg.URL = ""
		b, err = broker.NewRedisCluster(options.redisCluster, cfg)
	} else {
		b, err = broker.NewRedis(cfg)
	}
	if err != nil {
		logger.Error("broker failed", "err", err)
		return 1
	}
	defer b.Close()
	options.server.Broker = b
	startCtx, cancel := context.WithTimeout(ctx, nodeStartTimeoutWait)
	srv, err := server.Start(startCtx, options.server)
	cancel()
	if err != nil {
		logger.Error("start failed", "err", err)
		return 1
	}
	<-ctx.Done()
	logger.Info("signal received: draining")
	drained := srv.Drain()
	srv.Close()
	if !drained {
		// Said in the exit status too, so that a lab run (and any
		// supervisor) sees a drain that overran its timeout.
		return 1
	}
	return 0
}

// parseNodeFlags validates every flag; done reports that the command must
// return code now.
func parseNodeFlags(args []string, stdout, stderr io.Writer) (options nodeOptions, code int, done bool) {
	flags := newFlagSet("node", "Run one chat node: clients connect at ws://ADDR/ws, probes ask /healthz and /readyz; the\n"+
		"operator's /metrics and /state are on --admin-listen (loopback by default). SIGTERM or SIGINT\n"+
		"drains it: clients are told (close 4000) to reconnect elsewhere.", stdout, stderr)
	id := flags.String("id", "", "node name, e.g. n1 (required; 1-32 of A-Z a-z 0-9 . _ -)")
	listen := flags.String("listen", ":8080", "address to serve clients on, host:port")
	adminListen := flags.String("admin-listen", adminListenDefault, "address to serve /metrics and /state on, host:port (port 0: a free one, logged)")
	redisURL := flags.String("redis", "redis://127.0.0.1:6379/0", "Redis URL")
	redisReplicasAck := flags.Int("redis-replicas-ack", 0, "with --redis-cluster: replicas that must have a publish's write (WAIT) before it is acked and published, and what a history read read before it answers; 0: none (Redis's asynchronous replication: a failover may lose acked messages)")
	redisEpochFence := flags.Bool("redis-epoch-fence", false, "with --redis-cluster: a room first written or read after a failover starts a new epoch (its clients get a reset), since the promoted replica may lack acked writes whose seqs it would hand out again")
	redisCluster := flags.String("redis-cluster", "", "comma-separated HOST:PORT of Redis Cluster nodes (some are enough) to use instead of --redis: rooms spread over the shards by hash slot, sharded pub/sub")
	delivery := flags.String("delivery", string(node.Recover), "delivery mode: recover or pubsub")
	auth := flags.String("auth", "on", "require a signed token on /ws: on, or off (lab runs only: the user comes from ?user=)")
	secretFile := flags.String("secret-file", "", "file holding the HS256 token secret (default $"+secretEnv+")")
	roomsOpen := flags.String("rooms-open", "", "whether a connection whose token has no rooms claim (chatlab token --rooms), or any under --auth off, may join every room: on, or off (it may join none: error forbidden); default off with --auth on, on with --auth off")
	origins := flags.String("allowed-origins", "", "comma-separated browser origins allowed to connect, scheme://host[:port]; empty: same host only; *: any")
	sendQueueLenMax := flags.Int("send-queue-len-max", node.SendQueueLenMaxDefault, "frames a connection may have unwritten before it is cut off as a slow consumer")
	rateBurst := flags.Int("rate-burst", node.RateBurstDefault, "sends a connection may make at once")
	ratePerSecond := flags.Int("rate-per-second", node.RatePerSecondDefault, "sends per second a connection's allowance refills by")
	framesPerSecond := flags.Int("frames-per-second", 0, fmt.Sprintf("frames of any type per second a connection's allowance refills by (over it: rate_limited; --frame-burst refusals beyond what it earns back at a tenth of this rate: closed 4008); 0: %d, or twice --rate-per-second if more", node.FramesPerSecondDefault))
	connectionsPerUser := flags.Int("connections-per-user-max", server.ConnectionsPerUserMaxDefault, "open connections one user may have (over it: HTTP 429)")
	connectionsPerIP := flags.Int("connections-per-ip-max", 0, "open connections from one client address (over it: HTTP 429); 0: no cap (behind a balancer every client has its address)")
	frameBurst := flags.Int("frame-burst", 0, fmt.Sprintf("frames of any type a connection may send at once; 0: %d, or twice --rate-burst if more", node.FrameBurstDefault))
	brokerCallsMax := flags.Int("broker-calls-per-user-max", node.BrokerCallsPerUserMaxDefault, "broker calls (publishes, fetches for joins) one user's connections may have in flight together: its share of the node's queue")
	recentLenMax := flags.Int("recent-len-max", node.RecentLenMaxDefault, "messages of each room the node keeps in memory for clients that resume (beyond them it reads Redis)")
	roomIdleTTL := flags.Duration("room-idle-ttl", redisscript.RoomIdleTTLSecondsDefault*time.Second, "how long a room's Redis keys (seq, history, epoch) last after its last message; 0: for ever (a client back later is told its history is gone)")
	historyLenMax := flags.Int("history-len-max", redisscript.HistoryLenMaxDefault, "messages each room's Redis stream keeps (beyond them a resuming client gets a reset)")
	roomPollInterval := flags.Duration("room-poll-interval", 2*time.Second, "how often each room with members asks Redis for messages the node missed (the safety net behind pub/sub's gap detection)")
	pubSubBuffer := flags.Int("pubsub-buffer", 1024, "pub/sub events the broker link holds for the node; when they are full it drops messages and has the node catch up from history")
	socketBuffer := flags.Int("socket-buffer", 0, "cap each client socket's kernel buffers at this many `bytes` (0: the kernel's own, which grow to megabytes and hide a slow consumer longer); a capped socket retransmits at most 1s apart")
	brokerLostGrace := flags.Duration("broker-lost-grace", node.BrokerLostGraceMsDefault*time.Millisecond, "how long the Redis link may be down before the node closes its clients with 4000 (they resume on other nodes) and refuses new ones until it is back; 0: keep them through any outage")
	drainTimeout := flags.Duration("drain-timeout", server.DrainTimeoutDefault, "how long a drain waits for clients to go; a drain that overruns it makes the node exit 1")
	pongWait := flags.Duration("pong-wait", server.PongWaitDefault, "how long a client may stay silent, pongs included, before it is dropped (pings go out at 9/10 of it)")
	writeTimeout := flags.Duration("write-timeout", server.WriteTimeoutDefault, "how long one batch of writes to a client may take before the client is cut off")
	logFormat := flags.String("log-format", "text", "log format: text or json")
	logLevel := flags.String("log-level", "info", "log level: debug, info, warn or error")
	if code, done := flags.parse(args); done {
		return nodeOptions{}, code, true
	}
	fail := func(format string, args ...any) (nodeOptions, int, bool) {
		return nodeOptions{}, flags.usageError(format, args...), true
	}
	if *id == "" {
		return fail("--id is required")
	}
	if err := checkNodeID(*id); err != nil {
		return fail("%s", err)
	}
	if err := checkListen(*listen); err != nil {
		return fail("%s", err)
	}
	if err := checkAdminListen(*adminListen); err != nil {
		return fail("%s", err)
	}
	if _, err := redis.ParseURL(*redisURL); err != nil {
		return fail("--redis %q: %s", *redisURL, err)
	}
	var clusterAddrs []string
	if *redisCluster != "" {
		clusterAddrs = strings.Split(*redisCluster, ",")
		for _, addr := range clusterAddrs {
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return fail("--redis-cluster %q: %s", addr, err)
			}
		}
	}
	if *redisReplicasAck < 0 || *redisReplicasAck > replicasAckFlagMax {
		return fail("--redis-replicas-ack %d: want 0 to %d", *redisReplicasAck, replicasAckFlagMax)
	}
	if *redisReplicasAck > 0 && clusterAddrs == nil {
		return fail("--redis-replicas-ack needs --redis-cluster: the replicas are a Redis Cluster's")
	}
	if *redisEpochFence && clusterAddrs == nil {
		return fail("--redis-epoch-fence needs --redis-cluster: it fences a Redis Cluster's failovers")
	}
	mode, ok := node.ParseDelivery(*delivery)
	if !ok {
		return fail("--delivery %q: want recover or pubsub", *delivery)
	}
	authOn, err := onOff("auth", *auth)
	if err != nil {
		return fail("%s", err)
	}
	roomsOpenOn := !authOn
	if *roomsOpen != "" {
		if roomsOpenOn, err = onOff("rooms-open", *roomsOpen); err != nil {
			return fail("%s", err)
		}
	}
	var secret []byte
	if authOn {
		if secret, err = loadSecret(*secretFile); err != nil {
			return fail("auth is on: %s (or --auth off for lab runs)", err)
		}
	}
	var originList []string
	if *origins != "" {
		originList = strings.Split(*origins, ",")
	}
	if err := server.CheckOrigins(originList); err != nil {
		return fail("--allowed-origins: %s", err)
	}
	for _, bound := range []struct {
		name  string
		value int
		max   int
	}{{"send-queue-len-max", *sendQueueLenMax, sendQueueLenFlagMax}, {"rate-burst", *rateBurst, rateFlagMax},
		{"rate-per-second", *ratePerSecond, rateFlagMax}, {"recent-len-max", *recentLenMax, recentLenFlagMax},
		{"broker-calls-per-user-max", *brokerCallsMax, brokerCallsFlagMax},
		{"connections-per-user-max", *connectionsPerUser, rateFlagMax},
		{"history-len-max", *historyLenMax, historyLenFlagMax}, {"pubsub-buffer", *pubSubBuffer, pubSubBufferFlagMax}} {
		if bound.value < 1 || bound.value > bound.max {
			return fail("--%s %d: want 1 to %d", bound.name, bound.value, bound.max)
		}
	}
	for _, bound := range []struct {
		name  string
		value int
	}{{"frames-per-second", *framesPerSecond}, {"frame-burst", *frameBurst}, {"connections-per-ip-max", *connectionsPerIP}} {
		if bound.value < 0 || bound.value > rateFlagMax {
			return fail("--%s %d: want 0 (the default) to %d", bound.name, bound.value, rateFlagMax)
		}
	}
	if *roomIdleTTL < 0 || (*roomIdleTTL > 0 && *roomIdleTTL < time.Second) || *roomIdleTTL > roomIdleTTLFlagMax {
		return fail("--room-idle-ttl %s: want 0 (for ever) or 1s to %s", *roomIdleTTL, roomIdleTTLFlagMax)
	}
	idleSeconds := int(*roomIdleTTL / time.Second)
	if idleSeconds == 0 {
		idleSeconds = -1 // for ever, in the broker's terms
	}
	if err := checkSocketBuffer(*socketBuffer); err != nil {
		return fail("%s", err)
	}
	for _, bound := range []struct {
		name  string
		value time.Duration
	}{{"drain-timeout", *drainTimeout}, {"pong-wait", *pongWait}, {"write-timeout", *writeTimeout}, {"room-poll-interval", *roomPollInterval}} {
		if bound.value <= 0 || bound.value > drainTimeoutFlagMax {
			return fail("--%s %s: want more than 0 and at most %s", bound.name, bound.value, drainTimeoutFlagMax)
		}
	}
	if *brokerLostGrace < 0 || *brokerLostGrace > drainTimeoutFlagMax {
		return fail("--broker-lost-grace %s: want 0 (never) to %s", *brokerLostGrace, drainTimeoutFlagMax)
	}
	grace := *brokerLostGrace
	if grace == 0 {
		grace = -1 // never, in the server's terms
	}
	logger, err := newLogger(*logFormat, *logLevel, stderr)
	if err != nil {
		return fail("%s", err)
	}
	return nodeOptions{
		server: server.Config{ID: *id, Listen: *listen, AdminListen: *adminListen, Delivery: mode, Auth: authOn, Secret: secret, RoomsOpen: &roomsOpenOn,
			AllowedOrigins: originList, SendQueueLenMax: *sendQueueLenMax, RateBurst: *rateBurst,
			RatePerSecond: *ratePerSecond, FramesPerSecond: *framesPerSecond, FrameBurst: *frameBurst,
			PongWait: *pongWait, WriteTimeout: *writeTimeout, RoomPollInterval: *roomPollInterval,
			BrokerCallsPerUserMax: *brokerCallsMax, ConnectionsPerUserMax: *connectionsPerUser, ConnectionsPerIPMax: *connectionsPerIP, RecentLenMax: *recentLenMax, SocketBufferBytes: *socketBuffer, DrainTimeout: *drainTimeout, BrokerLostGrace: grace, Logger: logger},
		redisURL: *redisURL, redisCluster: clusterAddrs, redisReplicasAck: *redisReplicasAck, redisEpochFence: *redisEpochFence, historyLenMax: *historyLenMax, roomIdleTTLSeconds: idleSeconds, pubSubBuffer: *pubSubBuffer,
	}, 0, false
}
