package sim

import (
	"testing"
	"time"

	"chatlab/system/client"
	"chatlab/system/node"
)

// A pub/sub kill resets every node's subscription connection at Redis
// while the command connections stay up: each node's link starts a new
// session, and with the room poll out of reach every member still gets
// every message, in order, from the link's catch-up alone.
func TestKillPubSubMakesEveryNodeResubscribe(t *testing.T) {
	c := NewCluster(Topology{Node: node.Config{RoomPollIntervalMs: 600_000}}, 1)
	c.AddWorkload(Workload{Clients: 9, Rooms: 2, Stop: 8 * time.Second, SendInterval: 300 * time.Millisecond})
	c.RunUntil(3 * time.Second)
	before := map[string]uint64{}
	for _, n := range c.Nodes() {
		if n.link.conn == nil || !n.link.up {
			t.Fatalf("%s has no pub/sub session up before the kill", n.name)
		}
		before[n.name] = n.link.conn.ID
	}
	c.Apply(Fault{Action: KillPubSub, Target: RedisName})
	if !c.RunUntilQuiet(60 * time.Second) {
		t.Fatalf("the cluster did not settle by %v", c.Now())
	}
	for _, n := range c.Nodes() {
		if n.link.conn == nil || n.link.conn.ID == before[n.name] || !n.link.up {
			t.Errorf("%s: pub/sub connection %d before the kill, %+v after; want a new session up", n.name, before[n.name], n.link.conn)
		}
	}
	last := map[[2]string]uint64{}
	afterKill := 0
	for _, e := range c.History() {
		if e.Event.Kind == client.KindDelivered && time.Duration(e.Event.AtMs)*time.Millisecond > 3*time.Second {
			afterKill++
		}
		if e.Event.Kind != client.KindDelivered || e.Event.Duplicate {
			continue
		}
		key := [2]string{e.Client, e.Event.Room}
		if prev, seen := last[key]; seen && e.Event.Seq != prev+1 {
			t.Fatalf("%s in %s: seq %d after %d", e.Client, e.Event.Room, e.Event.Seq, prev)
		}
		last[key] = e.Event.Seq
	}
	if len(last) < 9 || afterKill < 100 {
		t.Fatalf("%d memberships delivered to, %d deliveries after the kill; want every client's and many", len(last), afterKill)
	}
	for key, seq := range last {
		if head, _ := c.Redis().Head(key[1]); seq != head {
			t.Errorf("%s in %s ends at seq %d of head %d", key[0], key[1], seq, head)
		}
	}
	if err := c.At(c.Now(), Fault{Action: KillPubSub, Target: "n1"}); err == nil {
		t.Error("a pub/sub kill aimed at a node was accepted; want it refused (Redis kills every subscriber)")
	}
}

// While Redis refuses pub/sub, every node's link stays down: a session
// that subscribes or pings is killed at once. Once it admits pub/sub
// again, each link comes up and every member gets every message.
func TestRefusedPubSubKeepsLinksDownUntilAdmitted(t *testing.T) {
	c := NewCluster(Topology{Node: node.Config{RoomPollIntervalMs: 600_000}}, 1)
	c.AddWorkload(Workload{Clients: 9, Rooms: 2, Stop: 8 * time.Second, SendInterval: 300 * time.Millisecond})
	for _, f := range []struct {
		at     time.Duration
		action Action
	}{{3 * time.Second, RefusePubSub}, {5 * time.Second, AdmitPubSub}} {
		if err := c.At(f.at, Fault{Action: f.action, Target: RedisName}); err != nil {
			t.Fatal(err)
		}
	}
	c.RunUntil(4900 * time.Millisecond)
	for _, n := range c.Nodes() {
		if n.node.BrokerIsUp() {
			t.Errorf("%s: broker up at %v while Redis refuses pub/sub", n.name, c.Now())
		}
	}
	if !c.RunUntilQuiet(60 * time.Second) {
		t.Fatalf("the cluster did not settle by %v", c.Now())
	}
	last := map[[2]string]uint64{}
	for _, e := range c.History() {
		if e.Event.Kind == client.KindDelivered && !e.Event.Duplicate {
			last[[2]string{e.Client, e.Event.Room}] = e.Event.Seq
		}
	}
	if len(last) < 9 {
		t.Fatalf("%d memberships delivered to; want every client's", len(last))
	}
	for key, seq := range last {
		if head, _ := c.Redis().Head(key[1]); seq != head {
			t.Errorf("%s in %s ends at seq %d of head %d", key[0], key[1], seq, head)
		}
	}
}
