package broker

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"chatlab/system/broker/clustertest"
	"chatlab/system/broker/redisscript"
	"chatlab/system/broker/storetest"
	"chatlab/system/node"
)

// clusterBackend is a real Redis Cluster (3 masters, 3 replicas) as a
// backend: losing data flushes every master, time passes on every master.
func clusterBackend(t testing.TB) (*clustertest.Cluster, backend) {
	cluster := clustertest.StartT(t, clustertest.Config{})
	onMasters := func(t testing.TB, f func(client *redis.Client) error) {
		if err := cluster.ForEachMaster(context.Background(), f); err != nil {
			t.Fatal(err)
		}
	}
	return cluster, backend{
		loseData: func(t testing.TB) {
			onMasters(t, func(client *redis.Client) error { return client.FlushAll(context.Background()).Err() })
		},
		advance: func(t testing.TB, d time.Duration) {
			onMasters(t, func(client *redis.Client) error {
				shortenTTLs(t, client, d)
				return nil
			})
		},
	}
}

// openClusterBroker is openBroker on Redis Cluster.
func openClusterBroker(t testing.TB, cluster *clustertest.Cluster, cfg RedisConfig) *Redis {
	t.Helper()
	cfg.URL = ""
	return openWith(t, func() (*Redis, error) { return NewRedisCluster(cluster.Addrs(), cfg) })
}

// roomsOnEveryMaster finds a room on each master of the cluster.
func roomsOnEveryMaster(t *testing.T, cluster *clustertest.Cluster) []string {
	t.Helper()
	byMaster := map[string]string{}
	var rooms []string
	for i := 0; len(rooms) < 3 && i < 1000; i++ {
		room := fmt.Sprint("room", i)
		master, err := cluster.Master(context.Background(), redisscript.KeysOf(room).Seq)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := byMaster[master.Addr]; !ok {
			byMaster[master.Addr] = room
			rooms = append(rooms, room)
		}
	}
	if len(rooms) < 3 {
		t.Fatalf("rooms on %d masters; want 3", len(rooms))
	}
	return rooms
}

// TestRedisClusterMeetsTheStoreContract replays the store contract through
// the adapter on a real Redis Cluster: the scripts run on the room's slot.
func TestRedisClusterMeetsTheStoreContract(t *testing.T) {
	runClusterContract(t, func(*RedisConfig) {})
}

func runClusterContract(t *testing.T, configure func(*RedisConfig)) {
	cluster, b := clusterBackend(t)
	storetest.Run(t, func(t *testing.T) storetest.Store {
		b.loseData(t)
		cfg := testConfig("")
		cfg.HistoryLenMax = storetest.Config.HistoryLenMax
		cfg.DedupeTTLSeconds = int(storetest.Config.DedupeTTL / time.Second)
		configure(&cfg)
		return contractBroker{broker: openClusterBroker(t, cluster, cfg), backend: b}
	}, nil)
}

// Rooms of every shard are delivered by sharded pub/sub, each on its own
// master's connection; an unsubscribed room is no longer delivered.
func TestRedisClusterDeliversEveryShard(t *testing.T) {
	cluster, _ := clusterBackend(t)
	publisher := openClusterBroker(t, cluster, testConfig(""))
	subscriber := openClusterBroker(t, cluster, testConfig(""))
	rooms := roomsOnEveryMaster(t, cluster)
	for _, room := range rooms {
		subscribe(t, subscriber, room)
	}
	for _, room := range rooms {
		publish(t, publisher, room, "ann", "x-"+room, "e1")
		expectMsg(t, subscriber, room, 1, "x-"+room)
	}
	if err := subscriber.Unsubscribe(context.Background(), rooms[0]); err != nil {
		t.Fatal(err)
	}
	publish(t, publisher, rooms[0], "ann", "gone", "e1")
	expectNothingBefore(t, publisher, subscriber, rooms[1])
	// The cluster's confirmation of that unsubscribe is no slot move: the
	// session holds, and the room can come back.
	subscribe(t, subscriber, rooms[0])
	publish(t, publisher, rooms[0], "ann", "back", "e1")
	expectMsg(t, subscriber, rooms[0], 3, "back")
	if err := subscriber.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// When a master dies, its replica takes over: the link reports LinkDown,
// then LinkUp once every room is subscribed again on the new master, and
// the room's history is served there.
func TestRedisClusterLinkSurvivesFailover(t *testing.T) {
	cluster, _ := clusterBackend(t)
	publisher := openClusterBroker(t, cluster, testConfig(""))
	subscriber := openClusterBroker(t, cluster, testConfig(""))
	rooms := roomsOnEveryMaster(t, cluster)
	for _, room := range rooms {
		subscribe(t, subscriber, room)
	}
	publish(t, publisher, rooms[0], "ann", "before", "e1")
	expectMsg(t, subscriber, rooms[0], 1, "before")
	master, err := cluster.Master(context.Background(), redisscript.KeysOf(rooms[0]).Seq)
	if err != nil {
		t.Fatal(err)
	}
	master.Kill()
	expectLink(t, subscriber, LinkDown)
	expectLink(t, subscriber, LinkUp)
	publishUntilAccepted(t, publisher, publishRequest(rooms[0], "ann", "after", "e1"))
	event := nextEvent(t, subscriber)
	if event.Msg == nil || event.Msg.ID != "after" {
		t.Fatalf("event = %s; want the message published after the failover", describe(event))
	}
	if got := fetch(t, publisher, rooms[0], 0, 10, "e1"); got.Epoch != "e1" || len(got.Messages) == 0 {
		t.Fatalf("history after the failover = %+v", got)
	}
}

// When a room's slot moves to another master with its keys, the old
// master unsubscribes its shard channel: the link starts a new session,
// subscribed on the new master, and the room's history moved along.
func TestRedisClusterLinkFollowsAMovedSlot(t *testing.T) {
	cluster, _ := clusterBackend(t)
	publisher := openClusterBroker(t, cluster, testConfig(""))
	subscriber := openClusterBroker(t, cluster, testConfig(""))
	rooms := roomsOnEveryMaster(t, cluster)
	room := rooms[0]
	subscribe(t, subscriber, room)
	publish(t, publisher, room, "ann", "before", "e1")
	expectMsg(t, subscriber, room, 1, "before")
	if _, _, err := cluster.MoveSlot(context.Background(), redisscript.RoomSlot(room)); err != nil {
		t.Fatal(err)
	}
	expectLink(t, subscriber, LinkDown)
	expectLink(t, subscriber, LinkUp)
	publishUntilAccepted(t, publisher, publishRequest(room, "ann", "moved", "e1"))
	event := nextEvent(t, subscriber)
	if event.Msg == nil || event.Msg.ID != "moved" || event.Msg.Seq != 2 {
		t.Fatalf("event = %s; want the message published after the move, seq 2", describe(event))
	}
	if got := fetch(t, publisher, room, 0, 10, "e1"); len(got.Messages) != 2 || got.Messages[0].ID != "before" {
		t.Fatalf("history after the move = %+v; want both messages", got)
	}
}

// publishUntilAccepted publishes until the cluster accepts: the publisher
// may still be learning the new slot map. It retries as a node does, with
// the same send id.
func publishUntilAccepted(t testing.TB, publisher *Redis, req node.PublishRequest) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), eventWait)
	defer cancel()
	for {
		_, err := publisher.Publish(ctx, req)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("publish %s to %s: %v", req.ID, req.Room, err)
		}
	}
}

func publishRequest(room, from, id, epoch string) node.PublishRequest {
	return node.PublishRequest{Room: room, ID: id, From: from, Body: "body of " + id, TS: 1700000000123,
		EpochCandidate: epoch}
}

// The store contract holds with replica acks too: every publish and fetch
// waits for the room's replica.
func TestRedisClusterWithReplicaAcksMeetsTheStoreContract(t *testing.T) {
	runClusterContract(t, func(cfg *RedisConfig) { cfg.ReplicasAck = 1 })
}

// With replica acks, a write the replica does not get is neither acked nor
// seen, live or in history; the sender's retry, once the replica is back,
// gets the first attempt's seq and publishes it.
func TestReplicaAcksHideWhatTheReplicaDoesNotHave(t *testing.T) {
	cluster, _ := clusterBackend(t)
	cfg := testConfig("")
	cfg.ReplicasAck, cfg.ReplicasAckTimeoutMs = 1, 300
	publisher := openClusterBroker(t, cluster, cfg)
	subscriber := openClusterBroker(t, cluster, testConfig(""))
	rooms := roomsOnEveryMaster(t, cluster)
	room, other := rooms[0], rooms[1]
	subscribe(t, subscriber, room)
	subscribe(t, subscriber, other)
	ctx := context.Background()
	master, err := cluster.Master(ctx, redisscript.KeysOf(room).Seq)
	if err != nil {
		t.Fatal(err)
	}
	replicas, err := cluster.ReplicasOf(ctx, master)
	if err != nil || len(replicas) != 1 {
		t.Fatalf("replicas of %s: %v (%v)", master.Addr, replicas, err)
	}
	if err := replicas[0].Pause(true); err != nil {
		t.Fatal(err)
	}
	paused := true
	defer func() {
		if paused {
			_ = replicas[0].Pause(false)
		}
	}()
	if err := master.DropReplicas(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := publisher.Publish(ctx, publishRequest(room, "ann", "x", "e1")); !errors.Is(err, ErrNotReplicated) {
		t.Fatalf("publish while the replica is cut off: %v; want ErrNotReplicated", err)
	}
	if _, err := publisher.Fetch(ctx, node.FetchRequest{Room: room, Limit: 10, EpochCandidate: "e1"}); !errors.Is(err, ErrNotReplicated) {
		t.Fatalf("fetch while the replica is cut off: %v; want ErrNotReplicated", err)
	}
	// Nothing of room was published: the next event is another room's.
	publish(t, publisher, other, "ann", "marker", "e1")
	if event := nextEvent(t, subscriber); event.Msg == nil || event.Msg.ID != "marker" {
		t.Fatalf("event = %s; want the marker, nothing of the refused write", describe(event))
	}
	if err := replicas[0].Pause(false); err != nil {
		t.Fatal(err)
	}
	paused = false
	publishUntilAccepted(t, publisher, publishRequest(room, "ann", "x", "e1"))
	expectMsg(t, subscriber, room, 1, "x")
	if got := fetch(t, publisher, room, 0, 10, "e1"); len(got.Messages) != 1 || got.Head != 1 {
		t.Fatalf("history = %+v; want the one message", got)
	}
}

// The store contract holds with epoch fencing.
func TestRedisClusterWithEpochFenceMeetsTheStoreContract(t *testing.T) {
	runClusterContract(t, func(cfg *RedisConfig) { cfg.EpochFence = true })
}

// With epoch fencing, a room first written after a failover starts a new
// epoch: its seqs start again at 1 under another name, rather than going
// on from whatever the promoted replica had.
func TestEpochFenceStartsANewEpochAfterAFailover(t *testing.T) {
	cluster, _ := clusterBackend(t)
	cfg := testConfig("")
	cfg.EpochFence = true
	broker := openClusterBroker(t, cluster, cfg)
	rooms := roomsOnEveryMaster(t, cluster)
	room, other := rooms[0], rooms[1]
	for _, r := range []string{room, other} {
		publish(t, broker, r, "ann", "a", "e1")
		if reply := publish(t, broker, r, "ann", "b", "e1"); reply.Seq != 2 || reply.Epoch != "e1" {
			t.Fatalf("%s: %+v; want seq 2 of e1", r, reply)
		}
	}
	master, err := cluster.Master(context.Background(), redisscript.KeysOf(room).Seq)
	if err != nil {
		t.Fatal(err)
	}
	master.Kill()
	var reply node.PublishReply
	ctx, cancel := context.WithTimeout(context.Background(), eventWait)
	defer cancel()
	for {
		reply, err = broker.Publish(ctx, publishRequest(room, "ann", "c", "e2"))
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("publish after the failover: %v", err)
		}
	}
	if reply.Seq != 1 || reply.Epoch != "e2" {
		t.Fatalf("after the failover: %+v; want seq 1 of a new epoch e2", reply)
	}
	// A room of another shard keeps its epoch.
	if reply := publish(t, broker, other, "ann", "c", "e2"); reply.Seq != 3 || reply.Epoch != "e1" {
		t.Fatalf("another shard's room: %+v; want seq 3 of e1", reply)
	}
}

// redisscript.Slot, by which the simulator places rooms on shards, is the
// slot a real Redis Cluster gives every key of a room, its shard channel
// and keys with odd hash tags.
func TestSlotIsTheClusterSlot(t *testing.T) {
	cluster, _ := clusterBackend(t)
	client := redis.NewClient(&redis.Options{Addr: cluster.Addrs()[0], DisableIdentity: true})
	t.Cleanup(func() { _ = client.Close() })
	keys := []string{"", "foo", "foo{}{bar}", "foo{{bar}}zap", "{a}{b}", "}{x}", "123456789"}
	for i := range 200 {
		room := fmt.Sprint("room-", i)
		keys = append(keys, redisscript.KeysOf(room).Seq, redisscript.ShardChannel(room), redisscript.DedupeKey(room, "u:1", "id"))
	}
	for _, key := range keys {
		slot, err := client.ClusterKeySlot(context.Background(), key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got := redisscript.Slot(key); int64(got) != slot {
			t.Errorf("Slot(%q) = %d; the cluster says %d", key, got, slot)
		}
	}
}
