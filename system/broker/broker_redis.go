package broker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"chatlab/system/broker/redisscript"
	"chatlab/system/node"
	"chatlab/system/protocol"
)

// RedisConfig configures the Redis broker. Zero values take the defaults.
type RedisConfig struct {
	// URL is a redis:// URL (go-redis ParseURL syntax).
	URL string
	// Delivery is node.Recover (the default when empty) or node.PubSub.
	Delivery node.Delivery
	// HistoryLenMax is how many messages a room's history holds (default
	// 10000); older ones are trimmed.
	HistoryLenMax int
	// DedupeTTLSeconds is how long a send's (from, id) is remembered
	// (default 600). A retry later than that is a new message.
	DedupeTTLSeconds int
	// RoomIdleTTLSeconds is how long a room's keys (seq, stream, epoch)
	// last after its last message (default a week; -1: for ever).
	RoomIdleTTLSeconds int
	// EventsLenMax is the capacity of the Events channel (default 1024).
	EventsLenMax int
	// PingIntervalMs is how often the subscription link is pinged (default
	// 500).
	PingIntervalMs int
	// LinkTimeoutMs is how long the subscription link may stay silent, with
	// pings outstanding, before it is declared down (default 1500). It also
	// bounds dialing and subscribing.
	LinkTimeoutMs int
	// ReconnectDelayMaxMs caps the backoff between failed reconnects
	// (default 1000).
	ReconnectDelayMaxMs int
	// ReplicasAck is how many replicas must have a publish's write before
	// it is acked or published, and what a fetch read before it answers
	// (WAIT; 0, the default: none). See publishReplicated.
	ReplicasAck int
	// ReplicasAckTimeoutMs bounds each WAIT (default 1000): a write that
	// reaches fewer replicas fails, and the node retries it.
	ReplicasAckTimeoutMs int
	// EpochFence starts a new epoch for a room first written or read after
	// a failover (redisscript.PublishFenced): the promoted replica may lack
	// writes whose seqs it would hand out again. Clients are told, and what
	// the old master acked and lost is declared lost rather than silently
	// replaced.
	EpochFence bool
}

const (
	historyLenMaxDefault        = redisscript.HistoryLenMaxDefault
	dedupeTTLSecondsDefault     = redisscript.DedupeTTLSecondsDefault
	eventsLenMaxDefault         = 1024
	pingIntervalMsDefault       = 500
	linkTimeoutMsDefault        = 1500
	reconnectDelayMaxMsDefault  = 1000
	replicasAckTimeoutMsDefault = 1000
)

// Redis is the Broker on Redis (or miniredis): one Lua script per publish
// and per fetch, one pub/sub connection for every subscribed room. On Redis
// Cluster (NewRedisCluster) the scripts run on their room's slot and each
// room's messages go by sharded pub/sub (broker_cluster.go).
type Redis struct {
	client redis.UniversalClient
	// sharded: on Redis Cluster, publish on the room's shard channel.
	sharded          bool
	delivery         node.Delivery
	historyLenMax    int
	dedupeTTLSeconds int
	// roomIdleTTLSeconds: 0 keeps a room's keys for ever.
	roomIdleTTLSeconds int
	// replicasAck, replicasAckTimeoutMs: RedisConfig's.
	replicasAck          int
	replicasAckTimeoutMs int
	epochFence           bool
	link                 subscriptions
	events               <-chan Event
}

// subscriptions is the subscription link: link on one Redis, clusterLink on
// Redis Cluster.
type subscriptions interface {
	subscribe(ctx context.Context, room string) error
	unsubscribe(ctx context.Context, room string) error
	close()
}

var _ Broker = (*Redis)(nil)

// IdleConnsMax is how many connections to Redis (besides the pub/sub
// link's) a node keeps open while idle, unless the URL says otherwise
// (max_idle_conns). A burst opens up to go-redis's pool size (10 per CPU);
// beyond these, connections are closed as they come back to the pool, so
// that a quiet node does not hold the descriptors of its busiest moment.
const IdleConnsMax = 8

// NewRedis builds a Redis broker and starts its subscription link; the first
// LinkUp on Events says that it is connected. It fails only on a bad config.
func NewRedis(cfg RedisConfig) (*Redis, error) {
	cfg, err := withDefaults(cfg)
	if err != nil {
		return nil, fmt.Errorf("redis broker: %w", err)
	}
	options, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redis broker: parse url: %w", err)
	}
	// miniredis rejects CLIENT SETINFO.
	options.DisableIdentity = true
	// RESP2 keeps pub/sub replies out of go-redis's push-notification path
	// and behaves the same on miniredis and Redis.
	options.Protocol = 2
	// No transparent retries: a publish or fetch either answers or fails,
	// and the node decides whether to retry (with the same send id).
	options.MaxRetries = -1
	if options.MaxIdleConns == 0 {
		options.MaxIdleConns = IdleConnsMax
	}
	linkTimeout := time.Duration(cfg.LinkTimeoutMs) * time.Millisecond
	if options.DialTimeout == 0 || options.DialTimeout > linkTimeout {
		options.DialTimeout = linkTimeout
	}
	client := redis.NewClient(options)
	r := newRedis(client, cfg)
	link := startLink(client, timingOf(cfg), cfg.EventsLenMax)
	r.link, r.events = link, link.events
	return r, nil
}

// newRedis is a broker on client without its link.
func newRedis(client redis.UniversalClient, cfg RedisConfig) *Redis {
	return &Redis{
		client:               client,
		delivery:             cfg.Delivery,
		historyLenMax:        cfg.HistoryLenMax,
		dedupeTTLSeconds:     cfg.DedupeTTLSeconds,
		roomIdleTTLSeconds:   max(cfg.RoomIdleTTLSeconds, 0),
		replicasAck:          cfg.ReplicasAck,
		replicasAckTimeoutMs: cfg.ReplicasAckTimeoutMs,
		epochFence:           cfg.EpochFence,
	}
}

func timingOf(cfg RedisConfig) linkTiming {
	return linkTiming{
		pingInterval:      time.Duration(cfg.PingIntervalMs) * time.Millisecond,
		linkTimeout:       time.Duration(cfg.LinkTimeoutMs) * time.Millisecond,
		reconnectDelayMax: time.Duration(cfg.ReconnectDelayMaxMs) * time.Millisecond,
	}
}

func withDefaults(cfg RedisConfig) (RedisConfig, error) {
	if cfg.Delivery == "" {
		cfg.Delivery = node.Recover
	}
	if _, ok := node.ParseDelivery(string(cfg.Delivery)); !ok {
		return cfg, fmt.Errorf("unknown delivery %q", cfg.Delivery)
	}
	defaults := []struct {
		name  string
		value *int
		def   int
	}{
		{"HistoryLenMax", &cfg.HistoryLenMax, historyLenMaxDefault},
		{"DedupeTTLSeconds", &cfg.DedupeTTLSeconds, dedupeTTLSecondsDefault},
		{"EventsLenMax", &cfg.EventsLenMax, eventsLenMaxDefault},
		{"PingIntervalMs", &cfg.PingIntervalMs, pingIntervalMsDefault},
		{"LinkTimeoutMs", &cfg.LinkTimeoutMs, linkTimeoutMsDefault},
		{"ReconnectDelayMaxMs", &cfg.ReconnectDelayMaxMs, reconnectDelayMaxMsDefault},
		{"ReplicasAckTimeoutMs", &cfg.ReplicasAckTimeoutMs, replicasAckTimeoutMsDefault},
	}
	for _, d := range defaults {
		if *d.value < 0 {
			return cfg, fmt.Errorf("%s is %d; it must not be negative", d.name, *d.value)
		}
		if *d.value == 0 {
			*d.value = d.def
		}
	}
	switch {
	case cfg.RoomIdleTTLSeconds == 0:
		cfg.RoomIdleTTLSeconds = redisscript.RoomIdleTTLSecondsDefault
	case cfg.RoomIdleTTLSeconds < -1:
		return cfg, fmt.Errorf("RoomIdleTTLSeconds is %d; want -1 (for ever), 0 (the default) or more", cfg.RoomIdleTTLSeconds)
	}
	if cfg.ReplicasAck < 0 {
		return cfg, fmt.Errorf("ReplicasAck is %d; it must not be negative", cfg.ReplicasAck)
	}
	if cfg.LinkTimeoutMs <= cfg.PingIntervalMs {
		return cfg, fmt.Errorf("LinkTimeoutMs (%d) must exceed PingIntervalMs (%d), or a healthy link times out",
			cfg.LinkTimeoutMs, cfg.PingIntervalMs)
	}
	return cfg, nil
}

// Publish accepts one send. See Broker for the guarantees of each mode.
func (r *Redis) Publish(ctx context.Context, req node.PublishRequest) (node.PublishReply, error) {
	if r.delivery == node.PubSub {
		return r.publishOnly(ctx, req)
	}
	call, err := redisscript.PublishExpiring(req, r.historyLenMax, r.dedupeTTLSeconds, r.roomIdleTTLSeconds)
	if err != nil {
		return node.PublishReply{}, fmt.Errorf("publish: %w", err)
	}
	if r.sharded {
		call = redisscript.Sharded(call, req.Room)
	}
	if r.epochFence {
		call = redisscript.PublishFenced(call, req.Room)
	}
	if r.replicasAck > 0 {
		return r.publishReplicated(ctx, req.Room, call)
	}
	result, err := r.run(ctx, publishScript, call).Slice()
	if err != nil {
		return node.PublishReply{}, fmt.Errorf("publish to room %q: %w", req.Room, err)
	}
	reply, err := redisscript.PublishReply(result)
	if err != nil {
		return node.PublishReply{}, fmt.Errorf("publish to room %q: %w", req.Room, err)
	}
	return reply, nil
}

func (r *Redis) publishOnly(ctx context.Context, req node.PublishRequest) (node.PublishReply, error) {
	channel, message, err := redisscript.PubSubPublish(req)
	if err != nil {
		return node.PublishReply{}, fmt.Errorf("publish: %w", err)
	}
	publish := r.client.Publish
	if r.sharded {
		channel, publish = redisscript.ShardChannel(req.Room), r.client.SPublish
	}
	if err := publish(ctx, channel, message).Err(); err != nil {
		return node.PublishReply{}, fmt.Errorf("publish to room %q: %w", req.Room, err)
	}
	return node.PublishReply{}, nil
}

// Fetch reads a room's history after req.AfterSeq: the held seqs in
// (AfterSeq, AfterSeq+Limit], with the room's head, first held seq and
// epoch, all from one atomic read.
func (r *Redis) Fetch(ctx context.Context, req node.FetchRequest) (node.FetchReply, error) {
	if r.delivery == node.PubSub {
		if err := protocol.CheckRoom(req.Room); err != nil {
			return node.FetchReply{}, fmt.Errorf("fetch: %w", err)
		}
		return node.FetchReply{}, fmt.Errorf("fetch room %q: %w", req.Room, ErrNoHistory)
	}
	call, err := redisscript.Fetch(req)
	if err != nil {
		return node.FetchReply{}, fmt.Errorf("fetch: %w", err)
	}
	if r.epochFence {
		call = redisscript.FetchFenced(call, req.Room)
	}
	if r.replicasAck > 0 {
		return r.fetchReplicated(ctx, req.Room, call)
	}
	result, err := r.run(ctx, fetchScript, call).Slice()
	if err != nil {
		return node.FetchReply{}, fmt.Errorf("fetch room %q: %w", req.Room, err)
	}
	reply, err := redisscript.FetchReply(result)
	if err != nil {
		return node.FetchReply{}, fmt.Errorf("fetch room %q: %w", req.Room, err)
	}
	return reply, nil
}

// Subscribe holds a subscription to room's messages until Unsubscribe. It
// returns once Redis confirmed it. When it fails with ErrLinkDown, the room
// is subscribed anyway at the next LinkUp.
func (r *Redis) Subscribe(ctx context.Context, room string) error {
	if err := protocol.CheckRoom(room); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	return r.link.subscribe(ctx, room)
}

// Unsubscribe drops the subscription to room. Once it returns no further
// message of room enters Events (some may already be queued there), even
// when it fails.
func (r *Redis) Unsubscribe(ctx context.Context, room string) error {
	if err := protocol.CheckRoom(room); err != nil {
		return fmt.Errorf("unsubscribe: %w", err)
	}
	return r.link.unsubscribe(ctx, room)
}

// Events delivers messages and link changes; see Broker. When the consumer
// falls behind and the channel is full, messages are dropped rather than
// stalling Redis reads or growing memory; the consumer then gets a LinkDown
// and a LinkUp, before any further message, and catches up from history.
func (r *Redis) Events() <-chan Event {
	return r.events
}

// Ping checks that Redis (on Redis Cluster: every master) answers commands.
func (r *Redis) Ping(ctx context.Context) error {
	if cluster, ok := r.client.(*redis.ClusterClient); ok {
		if err := pingMasters(ctx, cluster); err != nil {
			return fmt.Errorf("ping redis cluster: %w", err)
		}
		return nil
	}
	if err := r.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}

// Close stops the subscription link, closes Events and the connections.
func (r *Redis) Close() error {
	r.link.close()
	if err := r.client.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
		return fmt.Errorf("close redis client: %w", err)
	}
	return nil
}
