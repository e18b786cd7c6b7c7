package clustertest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestClusterServesEverySlot starts a cluster and writes to keys of many
// slots through a cluster client.
func TestClusterServesEverySlot(t *testing.T) {
	c := StartT(t, Config{})
	if len(c.Nodes) != 6 {
		t.Fatalf("%d nodes; want 3 masters and 3 replicas", len(c.Nodes))
	}
	ctx := context.Background()
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), DisableIdentity: true})
	defer client.Close()
	masters := map[string]bool{}
	for _, key := range []string{"{a}", "{b}", "{c}", "{d}", "{e}", "{f}", "{g}", "{h}"} {
		if err := client.Set(ctx, key, "v", 0).Err(); err != nil {
			t.Fatalf("set %s: %v", key, err)
		}
		master, err := c.Master(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		masters[master.Addr] = true
	}
	if len(masters) < 2 {
		t.Errorf("8 keys landed on %d master(s); the slots are not spread", len(masters))
	}
	var roles []string
	if err := c.ForEachMaster(ctx, func(client *redis.Client) error {
		roles = append(roles, client.Options().Addr)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(roles) != 3 {
		t.Errorf("%d masters: %v; want 3", len(roles), roles)
	}
	// A script's SPUBLISH must name a shard channel in its keys' slot: the
	// reason a room's channel carries the room's hash tag on Redis Cluster.
	script := "return redis.call('SPUBLISH', ARGV[1], 'x')"
	if err := client.Eval(ctx, script, []string{"{room1}:k"}, "{room1}:channel").Err(); err != nil {
		t.Errorf("SPUBLISH on the keys' own hash tag: %v", err)
	}
	if err := client.Eval(ctx, script, []string{"{room1}:k"}, "{room2}:channel").Err(); err == nil {
		t.Error("SPUBLISH on another slot's channel ran; Redis Cluster must refuse it")
	}
}

// A killed master's replica takes over; the old master, started again,
// rejoins as a replica.
func TestReplicaTakesOverAKilledMaster(t *testing.T) {
	c := StartT(t, Config{})
	ctx := context.Background()
	master, err := c.Master(ctx, "{room}")
	if err != nil {
		t.Fatal(err)
	}
	replicas, err := c.ReplicasOf(ctx, master)
	if err != nil {
		t.Fatal(err)
	}
	if len(replicas) != 1 || replicas[0] == master {
		t.Fatalf("replicas of %s: %v; want one other node", master.Addr, replicas)
	}
	master.Kill()
	waitCtx, cancel := context.WithTimeout(ctx, readyWait)
	defer cancel()
	// Until the others see the master fail, the cluster still names it.
	var promoted *Node
	for promoted == nil || promoted == master {
		if err := c.WaitReady(waitCtx); err != nil {
			t.Fatal(err)
		}
		if promoted, err = c.Master(ctx, "{room}"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-waitCtx.Done():
			t.Fatalf("no replica took over from %s", master.Addr)
		case <-time.After(pollInterval):
		}
	}
	if promoted != replicas[0] {
		t.Fatalf("the slot's master is %s; want the replica %s", promoted.Addr, replicas[0].Addr)
	}
	if err := master.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(waitCtx); err != nil {
		t.Fatal(err)
	}
	back, err := c.ReplicasOf(ctx, promoted)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != 1 || back[0] != master {
		t.Fatalf("replicas of the promoted master: %v; want the old master back as one", back)
	}
}

// MoveSlot moves a slot's keys to the next master; the old owner answers
// MOVED for it and unsubscribes its shard channels' subscribers.
func TestMoveSlotMovesKeysAndUnsubscribes(t *testing.T) {
	c := StartT(t, Config{})
	ctx := context.Background()
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), DisableIdentity: true})
	defer client.Close()
	for _, key := range []string{"{room}:a", "{room}:b"} {
		if err := client.Set(ctx, key, key, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	slot, err := client.ClusterKeySlot(ctx, "{room}").Result()
	if err != nil {
		t.Fatal(err)
	}
	owner, err := c.Master(ctx, "{room}")
	if err != nil {
		t.Fatal(err)
	}
	direct := owner.client()
	defer direct.Close()
	subscription := direct.SSubscribe(ctx, "{room}:channel")
	defer subscription.Close()
	if _, err := subscription.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	from, to, err := c.MoveSlot(ctx, int(slot))
	if err != nil {
		t.Fatal(err)
	}
	if from != owner || to == owner {
		t.Fatalf("moved from %s to %s; want from the owner %s to another master", from.Addr, to.Addr, owner.Addr)
	}
	message, err := subscription.ReceiveTimeout(ctx, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := message.(*redis.Subscription); !ok || s.Kind != "sunsubscribe" || s.Channel != "{room}:channel" {
		t.Fatalf("the old owner's subscriber got %#v; want sunsubscribe of {room}:channel", message)
	}
	if err := direct.Get(ctx, "{room}:a").Err(); err == nil || !strings.HasPrefix(err.Error(), "MOVED ") {
		t.Fatalf("GET on the old owner: %v; want MOVED", err)
	}
	client.ReloadState(ctx)
	for _, key := range []string{"{room}:a", "{room}:b"} {
		if got, err := client.Get(ctx, key).Result(); err != nil || got != key {
			t.Errorf("%s after the move: %q, %v", key, got, err)
		}
	}
	if now, err := c.Master(ctx, "{room}"); err != nil || now != to {
		t.Fatalf("the slot's master after the move: %v, %v; want %s", now, err, to.Addr)
	}
}
