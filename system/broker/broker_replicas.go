package broker

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"chatlab/system/broker/redisscript"
	"chatlab/system/node"
)

// ErrNotReplicated: a write reached fewer replicas than ReplicasAck within
// ReplicasAckTimeoutMs. It is not acked; the node retries it with the same
// send id, which the dedupe answers with the first attempt's seq.
var ErrNotReplicated = errors.New("the write did not reach enough replicas")

// With ReplicasAck > 0 nothing of a room is seen before that many replicas
// have it, so that a replica promoted after its master died holds all that
// anyone saw:
//   - a publish runs its script, then WAIT on the same connection, and only
//     then publishes the message and acks the send. A write that did not
//     reach the replicas may be lost in a failover, and its seq handed to
//     another message, but nobody saw it under that seq: its sender was
//     refused and retries.
//   - a fetch writes too (its script sets the room's epoch again), then
//     WAITs: a reply never shows a message the replicas may not have.
//
// The price is a round trip to the replicas on every publish and fetch.

// publishReplicated is Publish with ReplicasAck > 0.
func (r *Redis) publishReplicated(ctx context.Context, room string, call redisscript.Call) (node.PublishReply, error) {
	channel := call.Args[3]
	conn, err := r.connFor(ctx, call.Keys[0])
	if err != nil {
		return node.PublishReply{}, fmt.Errorf("publish to room %q: %w", room, err)
	}
	defer conn.Close()
	result, err := r.runOn(ctx, conn, publishScript, redisscript.PublishAfterWait(call)).Slice()
	if err != nil {
		return node.PublishReply{}, fmt.Errorf("publish to room %q: %w", room, err)
	}
	reply, message, err := redisscript.PublishReplyHeld(result)
	if err != nil {
		return node.PublishReply{}, fmt.Errorf("publish to room %q: %w", room, err)
	}
	if reply.Conflict {
		// Nothing was applied.
		return reply, nil
	}
	if err := r.waitReplicas(ctx, conn); err != nil {
		return node.PublishReply{}, fmt.Errorf("publish to room %q: %w", room, err)
	}
	if message != "" {
		command := "PUBLISH"
		if r.sharded {
			command = "SPUBLISH"
		}
		if err := conn.Do(ctx, command, channel, message).Err(); err != nil {
			// The node retries, and the retry publishes it.
			return node.PublishReply{}, fmt.Errorf("publish to room %q: %w", room, err)
		}
	}
	return reply, nil
}

// fetchReplicated is Fetch with ReplicasAck > 0.
func (r *Redis) fetchReplicated(ctx context.Context, room string, call redisscript.Call) (node.FetchReply, error) {
	conn, err := r.connFor(ctx, call.Keys[0])
	if err != nil {
		return node.FetchReply{}, fmt.Errorf("fetch room %q: %w", room, err)
	}
	defer conn.Close()
	result, err := r.runOn(ctx, conn, fetchScript, redisscript.FetchBeforeWait(call)).Slice()
	if err != nil {
		return node.FetchReply{}, fmt.Errorf("fetch room %q: %w", room, err)
	}
	reply, err := redisscript.FetchReply(result)
	if err != nil {
		return node.FetchReply{}, fmt.Errorf("fetch room %q: %w", room, err)
	}
	if err := r.waitReplicas(ctx, conn); err != nil {
		return node.FetchReply{}, fmt.Errorf("fetch room %q: %w", room, err)
	}
	return reply, nil
}

// connFor is one connection to the master of key's slot (to Redis, on one
// Redis): WAIT counts the replicas that have its connection's writes.
func (r *Redis) connFor(ctx context.Context, key string) (*redis.Conn, error) {
	switch client := r.client.(type) {
	case *redis.ClusterClient:
		master, err := client.MasterForKey(ctx, key)
		if err != nil {
			client.ReloadState(ctx)
			return nil, err
		}
		return master.Conn(), nil
	case *redis.Client:
		return client.Conn(), nil
	}
	return nil, fmt.Errorf("no connection of a %T", r.client)
}

// runOn sends one script call on client. On Redis Cluster a failed call
// may mean the slot map is stale: after a failover go-redis keeps sending
// to the dead master, learning of the promoted replica only from a MOVED,
// which a dead master never sends. The next call then asks the cluster
// again.
func (r *Redis) runOn(ctx context.Context, client redis.Scripter, script *redis.Script, call redisscript.Call) *redis.Cmd {
	cmd := runScript(ctx, client, script, call)
	if cluster, ok := r.client.(*redis.ClusterClient); ok && cmd.Err() != nil {
		cluster.ReloadState(ctx)
	}
	return cmd
}

// waitReplicas waits until ReplicasAck replicas have every write of conn.
func (r *Redis) waitReplicas(ctx context.Context, conn *redis.Conn) error {
	acked, err := conn.Do(ctx, "WAIT", r.replicasAck, r.replicasAckTimeoutMs).Int()
	if err != nil {
		return fmt.Errorf("wait for replicas: %w", err)
	}
	if acked < r.replicasAck {
		return fmt.Errorf("%w: %d of %d replicas within %d ms", ErrNotReplicated, acked, r.replicasAck, r.replicasAckTimeoutMs)
	}
	return nil
}
