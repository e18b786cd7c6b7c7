package sim

import (
	"testing"
	"time"

	"chatlab/chaos/check"
	"chatlab/system/broker/redisscript"
	"chatlab/system/node"
)

// holdsEverything fails t unless no acked message was lost, reordered or
// duplicated in c's history.
func holdsEverything(t *testing.T, c *Cluster) {
	t.Helper()
	checks, stats := checkCluster(c, node.Recover)
	for _, name := range []string{check.CheckNoLoss, check.CheckOrder, check.CheckAcks, check.CheckNoDuplicates} {
		if result := checkNamed(t, checks, name); !result.OK {
			t.Errorf("%s: %s", name, result.Detail)
		}
	}
	if stats.Acked == 0 {
		t.Fatalf("nothing acked: %+v", stats)
	}
}

// A master cut off from the rest of the cluster refuses commands once it
// has been alone for the node timeout, the majority promotes its replica,
// and once healed the old master replicates the new one: its lone writes
// are gone, its subscribers told (SUNSUBSCRIBE) to go elsewhere. With
// replica acks and fencing nothing acked is lost.
func TestShardPartitionPromotesTheReplicaAndTheOldMasterRejoins(t *testing.T) {
	c := clusterWorld(RedisClusterSpec{ReplicasAck: 1, EpochFence: true}, 1)
	room := "room-1"
	masterName, replicaName := c.RedisShardOf(room)
	master := c.redisServer(masterName)
	if err := c.At(6*time.Second, Fault{Action: RedisShardPartition, Target: room}); err != nil {
		t.Fatal(err)
	}
	c.RunUntil(6*time.Second + nodeTimeoutDefault - time.Millisecond)
	if master.clusterDown() {
		t.Fatalf("%s holds the cluster down before the node timeout", masterName)
	}
	c.RunUntil(6*time.Second + nodeTimeoutDefault)
	if !master.clusterDown() {
		t.Fatalf("%s alone for the node timeout does not hold the cluster down", masterName)
	}
	c.RunUntil(6*time.Second + nodeTimeoutDefault + electionDelayMin + electionDelaySpread)
	if now, _ := c.RedisShardOf(room); now != replicaName || c.RedisPromotions() != 1 {
		t.Fatalf("master of %s's shard is %s after %d promotions; want the replica %s", room, now, c.RedisPromotions(), replicaName)
	}
	if err := c.At(12*time.Second, Fault{Action: HealRedisShards}); err != nil {
		t.Fatal(err)
	}
	if !c.RunUntilQuiet(90 * time.Second) {
		t.Fatalf("not quiet by %v", c.Now())
	}
	if master.isMaster() || master.upstream == nil || master.isolated {
		t.Fatalf("%s after the heal: master %v, upstream %v, isolated %v; want a replica of %s", masterName,
			master.isMaster(), master.upstream != nil, master.isolated, replicaName)
	}
	head, epoch := headOn(c.redisServer(replicaName), room)
	if oldHead, oldEpoch := headOn(master, room); oldHead != head || oldEpoch != epoch {
		t.Errorf("old master at %d/%s, new master at %d/%s; want the old one synced", oldHead, oldEpoch, head, epoch)
	}
	unsubscribed := 0
	for _, h := range c.Nodes() {
		unsubscribed += h.slotsUnsubscribed
	}
	if unsubscribed == 0 {
		t.Error("no node was unsubscribed by the old master when it turned replica")
	}
	holdsEverything(t, c)
}

// A slot moved to another master takes its room's keys along; calls to
// the old owner are answered MOVED and followed, the old owner's
// subscribers are unsubscribed and subscribe on the new owner, and no
// member misses anything.
func TestReshardMovesTheSlotKeysAndSubscribers(t *testing.T) {
	c := clusterWorld(RedisClusterSpec{}, 1)
	room := "room-1"
	sourceName, _ := c.RedisShardOf(room)
	source := c.redisServer(sourceName)
	if err := c.At(6*time.Second, Fault{Action: RedisReshard, Target: room}); err != nil {
		t.Fatal(err)
	}
	c.RunUntil(6*time.Second - time.Millisecond)
	before, _ := headOn(source, room)
	c.RunUntil(6*time.Second + time.Millisecond)
	destinationName, _ := c.RedisShardOf(room)
	destination := c.redisServer(destinationName)
	if destinationName == sourceName || destination.shard != (source.shard+1)%len(c.redisCluster.masters) {
		t.Fatalf("%s's slot on %s after the move from %s; want the next shard's master", room, destinationName, sourceName)
	}
	slot := redisscript.RoomSlot(room)
	for key := range source.store.keys {
		if redisscript.Slot(key) == slot {
			t.Errorf("%s still holds %s of the moved slot %d", sourceName, key, slot)
		}
	}
	if head, _ := headOn(destination, room); before == 0 || head < before {
		t.Fatalf("%s at head %d on %s after the move, %d on %s before", room, head, destinationName, before, sourceName)
	}
	if !c.RunUntilQuiet(90 * time.Second) {
		t.Fatalf("not quiet by %v", c.Now())
	}
	unsubscribed := 0
	for _, h := range c.Nodes() {
		unsubscribed += h.slotsUnsubscribed
		if shard := h.link.roomShard[room]; shard != nil && shard.server != destination {
			t.Errorf("%s subscribes %s on %s; want %s", h.name, room, shard.server.host.name, destinationName)
		}
	}
	if unsubscribed == 0 {
		t.Error("no node was unsubscribed from the moved slot")
	}
	holdsEverything(t, c)
}
