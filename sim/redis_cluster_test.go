package sim

import (
	"strconv"
	"testing"
	"time"

	"chatlab/system/broker/redisscript"
	"chatlab/system/client"
)

// clusterWorld is three nodes on a simulated Redis Cluster with a steady
// workload over rooms on every shard.
func clusterWorld(spec RedisClusterSpec, seed uint64) *Cluster {
	c := NewCluster(Topology{RedisCluster: &spec}, seed)
	c.AddWorkload(Workload{Clients: 30, Rooms: 6, RoomsPerClient: 2, Stop: 20 * time.Second, SendInterval: 500 * time.Millisecond})
	return c
}

// headOn is room's head and epoch on server.
func headOn(server *RedisHost, room string) (uint64, string) { return server.Store().Head(room) }

// Slots are spread as redis-cli --cluster create spreads them, and every
// room lives on the shard its slot names: its keys on that shard's master
// and replica, nowhere else.
func TestRedisClusterPlacesRoomsByTheirSlot(t *testing.T) {
	if got := slotRanges(3); got[0] != 5460 || got[1] != 10922 || got[2] != 16383 {
		t.Fatalf("slot ranges of 3 shards end at %v; want 5460, 10922, 16383", got)
	}
	c := clusterWorld(RedisClusterSpec{}, 1)
	c.RunUntilQuiet(60 * time.Second)
	rc := c.redisCluster
	shardsUsed := map[int]bool{}
	for i := 1; i <= 6; i++ {
		room := "room-" + strconv.Itoa(i)
		shard := rc.roomShard(room)
		shardsUsed[shard] = true
		if slot := redisscript.RoomSlot(room); slot > rc.lastSlots[shard] || shard > 0 && slot <= rc.lastSlots[shard-1] {
			t.Errorf("%s (slot %d) placed on shard %d, which ends at %d", room, slot, shard, rc.lastSlots[shard])
		}
		for _, server := range rc.servers {
			head, _ := headOn(server, room)
			if onShard := server.shard == shard; onShard != (head > 0) {
				t.Errorf("%s of shard %d: %s (shard %d) holds head %d", room, shard, server.host.name, server.shard, head)
			}
		}
	}
	if len(shardsUsed) < 2 {
		t.Fatalf("six rooms on %d shard; want them spread", len(shardsUsed))
	}
}

// A replica applies its master's writes a little later; a frozen one falls
// behind and catches up once it runs again.
func TestRedisClusterReplicatesAsynchronously(t *testing.T) {
	c := clusterWorld(RedisClusterSpec{}, 1)
	room := "room-1"
	master, replica := c.RedisShardOf(room)
	c.RunUntil(5 * time.Second)
	if err := c.At(5*time.Second, Fault{Action: Pause, Target: replica}); err != nil {
		t.Fatal(err)
	}
	c.RunUntil(8 * time.Second)
	masterHead, _ := headOn(c.redisServer(master), room)
	replicaHead, _ := headOn(c.redisServer(replica), room)
	if replicaHead == 0 || replicaHead >= masterHead {
		t.Fatalf("frozen replica at head %d, master at %d; want it behind", replicaHead, masterHead)
	}
	c.Apply(Fault{Action: Resume, Target: replica})
	c.RunUntilQuiet(60 * time.Second)
	masterHead, masterEpoch := headOn(c.redisServer(master), room)
	replicaHead, replicaEpoch := headOn(c.redisServer(replica), room)
	if replicaHead != masterHead || replicaEpoch != masterEpoch {
		t.Fatalf("replica at %d/%s, master at %d/%s after the run; want the same", replicaHead, replicaEpoch, masterHead, masterEpoch)
	}
}

// failoverRun fails the master of room-1's shard over after two seconds in
// which its replica got nothing, and returns the cluster, the promoted
// replica's head of room-1 when it took over, the highest seq of room-1
// acked before the master died and when the promotion came.
func failoverRun(t *testing.T, spec RedisClusterSpec, seed uint64) (c *Cluster, promotedHead, ackedMax uint64, promotedAt time.Duration) {
	t.Helper()
	c = clusterWorld(spec, seed)
	room := "room-1"
	_, replica := c.RedisShardOf(room)
	if err := c.At(6*time.Second, Fault{Action: RedisFailover, Target: room, Lag: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	c.RunUntil(8 * time.Second)
	for _, e := range c.History() {
		if e.Event.Kind == client.KindAcked && e.Event.Room == room {
			ackedMax = max(ackedMax, e.Event.Seq)
		}
	}
	for c.RedisPromotions() == 0 && c.Now() < 15*time.Second {
		c.RunUntil(c.Now() + time.Millisecond)
	}
	if c.RedisPromotions() != 1 {
		t.Fatalf("no promotion by %v", c.Now())
	}
	if master, _ := c.RedisShardOf(room); master != replica {
		t.Fatalf("%s is master of %s's shard after the failover; want the replica %s", master, room, replica)
	}
	promotedHead, _ = headOn(c.redisServer(replica), room)
	return c, promotedHead, ackedMax, c.Now()
}

// Without replica acks the master acks writes its replica never gets: the
// replica promoted 1.5 to 2 s after the master died (node timeout, then
// the election's delay) lacks seqs that were acked.
func TestFailoverWithoutReplicaAcksLosesAckedWrites(t *testing.T) {
	_, promotedHead, ackedMax, promotedAt := failoverRun(t, RedisClusterSpec{}, 1)
	if promotedAt < 9500*time.Millisecond || promotedAt > 10*time.Second {
		t.Errorf("promoted at %v; want 1.5 to 2 s after the master died at 8 s", promotedAt)
	}
	if promotedHead >= ackedMax {
		t.Fatalf("promoted replica holds head %d, acked up to %d; want acked writes missing", promotedHead, ackedMax)
	}
}

// With replica acks nothing is acked that the replica lacks: the promoted
// replica holds every acked seq, and the run ends with every client at the
// new master's head.
func TestFailoverWithReplicaAcksKeepsEveryAckedWrite(t *testing.T) {
	c, promotedHead, ackedMax, _ := failoverRun(t, RedisClusterSpec{ReplicasAck: 1}, 1)
	if ackedMax == 0 || promotedHead < ackedMax {
		t.Fatalf("promoted replica holds head %d, acked up to %d; want every acked seq", promotedHead, ackedMax)
	}
	if err := c.At(c.Now()+4*time.Second, Fault{Action: RestartRedisServers, Target: RedisName}); err != nil {
		t.Fatal(err)
	}
	if !c.RunUntilQuiet(90 * time.Second) {
		t.Fatalf("not quiet by %v", c.Now())
	}
	acks := map[string]uint64{}
	for _, e := range c.History() {
		if e.Event.Kind == client.KindAcked {
			acks[e.Event.Room] = max(acks[e.Event.Room], e.Event.Seq)
		}
	}
	for room, acked := range acks {
		master, replica := c.RedisShardOf(room)
		head, epoch := headOn(c.redisServer(master), room)
		if head < acked {
			t.Errorf("%s: head %d on %s; acked up to %d", room, head, master, acked)
		}
		if replicaHead, replicaEpoch := headOn(c.redisServer(replica), room); replicaHead != head || replicaEpoch != epoch {
			t.Errorf("%s: replica %s at %d/%s, master %s at %d/%s; want the restarted master synced", room, replica,
				replicaHead, replicaEpoch, master, head, epoch)
		}
	}
}

// With epoch fencing the first use of a room after the failover starts a
// new epoch on the promoted replica.
func TestEpochFenceStartsANewEpochAfterAFailover(t *testing.T) {
	c := clusterWorld(RedisClusterSpec{EpochFence: true}, 1)
	room := "room-1"
	c.RunUntil(6 * time.Second)
	master, _ := c.RedisShardOf(room)
	_, before := headOn(c.redisServer(master), room)
	if err := c.At(6*time.Second, Fault{Action: RedisFailover, Target: room, Lag: time.Second}); err != nil {
		t.Fatal(err)
	}
	c.RunUntil(14 * time.Second)
	promoted, _ := c.RedisShardOf(room)
	head, after := headOn(c.redisServer(promoted), room)
	if promoted == master || before == "" || after == before || head == 0 {
		t.Fatalf("epoch %q on %s before, %q (head %d) on %s after; want a new epoch on the promoted replica",
			before, master, after, head, promoted)
	}
}

// A node whose slot map names a server that no longer serves a shard is
// answered MOVED and follows it, as go-redis does.
func TestNodeFollowsMoved(t *testing.T) {
	c, _, _, _ := failoverRun(t, RedisClusterSpec{}, 2)
	room := "room-1"
	if err := c.At(c.Now()+time.Second, Fault{Action: RestartRedisServers, Target: RedisName}); err != nil {
		t.Fatal(err)
	}
	c.RunUntil(c.Now() + 3*time.Second)
	master, replica := c.RedisShardOf(room)
	shard := c.redisCluster.roomShard(room)
	for _, h := range c.Nodes() {
		h.slots[shard] = c.redisServer(replica) // stale: the old master
	}
	c.RunUntil(c.Now() + 2*time.Second)
	followed := 0
	for _, h := range c.Nodes() {
		followed += h.movedFollowed
		if h.slots[shard] != c.redisServer(master) {
			t.Errorf("%s maps the shard to %s; want %s", h.name, h.slots[shard].host.name, master)
		}
	}
	if followed == 0 {
		t.Fatal("no call was answered MOVED and followed")
	}
}

// clusterFaultWorld runs a Redis Cluster through failovers, partitions,
// pauses and restarts.
func clusterFaultWorld(seed uint64) *Cluster {
	c := NewCluster(Topology{
		Link:         LinkSpec{Latency: 2 * time.Millisecond, Jitter: 3 * time.Millisecond, Distribution: Exponential, LossPercent: 1},
		RedisCluster: &RedisClusterSpec{ReplicasAck: 1, EpochFence: true},
	}, seed)
	c.AddWorkload(Workload{Clients: 20, Rooms: 6, RoomsPerClient: 2, Stop: 30 * time.Second, SendInterval: time.Second})
	rc := c.redisCluster
	other := rc.masters[(rc.roomShard("room-1")+1)%len(rc.masters)].host.name // a master the failover leaves alone
	for _, f := range []struct {
		at    time.Duration
		fault Fault
	}{
		{3 * time.Second, Fault{Action: RedisFailover, Target: "room-1", Lag: time.Second}},
		{8 * time.Second, Fault{Action: RestartRedisServers, Target: RedisName}},
		{10 * time.Second, Fault{Action: Partition, Target: "n2", Peer: RedisServerName(1)}},
		{12 * time.Second, Fault{Action: Heal}},
		{13 * time.Second, Fault{Action: Pause, Target: RedisServerName(4)}},
		{15 * time.Second, Fault{Action: Resume, Target: RedisServerName(4)}},
		{16 * time.Second, Fault{Action: Crash, Target: other}},
		{20 * time.Second, Fault{Action: Restart, Target: other}},
		{22 * time.Second, Fault{Action: Restart, Target: "n1"}},
	} {
		if err := c.At(f.at, f.fault); err != nil {
			panic(err)
		}
	}
	c.RunUntilQuiet(90 * time.Second)
	return c
}

func TestRedisClusterSameSeedSameTrace(t *testing.T) {
	first, second := clusterFaultWorld(7), clusterFaultWorld(7)
	if first.TraceHash() != second.TraceHash() || first.World().Processed() != second.World().Processed() {
		t.Fatalf("seed 7 gave trace hashes %x and %x", first.TraceHash(), second.TraceHash())
	}
	if first.RedisPromotions() < 2 {
		t.Fatalf("%d promotions; want the failover and the crash's", first.RedisPromotions())
	}
	if clusterFaultWorld(8).TraceHash() == first.TraceHash() {
		t.Fatal("seeds 7 and 8 gave the same trace hash")
	}
	// With replica acks and fencing, none of it loses or reorders
	// anything.
	holdsEverything(t, first)
	t.Logf("hash %x, %d events, %v virtual", first.TraceHash(), first.World().Processed(), first.Now())
}
