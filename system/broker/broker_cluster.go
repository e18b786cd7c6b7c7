package broker

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/redis/go-redis/v9"

	"chatlab/system/broker/redisscript"
)

// NewRedisCluster builds the broker on Redis Cluster, whose nodes (some of
// them are enough: the client learns the rest) are addrs, HOST:PORT. The
// publish and fetch scripts run on the master of their room's slot (every
// key of a room shares its hash tag); go-redis follows MOVED and ASK and
// reloads the slot map. Each room's messages go by sharded pub/sub
// (SPUBLISH from the publish script, SSUBSCRIBE by the link) on its shard
// channel, which carries the room's hash tag too, so a message stays on the
// shard that owns the room. cfg.URL must be empty; the rest of cfg is as for
// NewRedis.
func NewRedisCluster(addrs []string, cfg RedisConfig) (*Redis, error) {
	if cfg.URL != "" {
		return nil, errors.New("redis cluster broker: the nodes are given by address, not by URL")
	}
	if len(addrs) == 0 {
		return nil, errors.New("redis cluster broker: no node address")
	}
	for _, addr := range addrs {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("redis cluster broker: node address %q: %w", addr, err)
		}
	}
	cfg.URL = "redis://" + addrs[0] // only for the checks of withDefaults
	cfg, err := withDefaults(cfg)
	if err != nil {
		return nil, fmt.Errorf("redis cluster broker: %w", err)
	}
	timing := timingOf(cfg)
	cluster := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: addrs,
		// As on one Redis (NewRedis): no CLIENT SETINFO, RESP2 pub/sub.
		DisableIdentity: true,
		Protocol:        2,
		// The nodes' clients do not retry: a publish or fetch answers or
		// fails and the node decides (a retried publish keeps its send id).
		// The cluster client itself still follows MOVED and ASK, and tries
		// another node once when one fails, which the dedupe makes safe.
		MaxRetries:   -1,
		DialTimeout:  timing.linkTimeout,
		MaxIdleConns: IdleConnsMax, // per cluster node
	})
	r := newRedis(cluster, cfg)
	r.sharded = true
	link := startClusterLink(cluster, timing, cfg.EventsLenMax)
	r.link, r.events = link, link.events
	return r, nil
}

// pingMasters checks that every master the cluster client knows answers.
func pingMasters(ctx context.Context, cluster *redis.ClusterClient) error {
	return cluster.ForEachMaster(ctx, func(ctx context.Context, master *redis.Client) error {
		if err := master.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("master %s: %w", master.Options().Addr, err)
		}
		return nil
	})
}

// run sends one script call (runOn, on the broker's client).
func (r *Redis) run(ctx context.Context, script *redis.Script, call redisscript.Call) *redis.Cmd {
	return r.runOn(ctx, r.client, script, call)
}
