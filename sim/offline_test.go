package sim

import (
	"testing"
	"time"

	"chatlab/system/client"
	"chatlab/system/node"
)

// A client taken off the network longer than the stream retains comes back
// with one reset to the oldest message still held and then every message
// from there: the away path through the ring, the history and the reset.
func TestOfflineClientResumesBeyondRetainedHistory(t *testing.T) {
	c := NewCluster(Topology{Node: node.Config{RecentLenMax: 8}, RedisStreamLenMax: 30}, 1)
	c.AddWorkload(Workload{Clients: 10, Rooms: 1, Stop: 12 * time.Second, SendInterval: 200 * time.Millisecond})
	away := c.AddClient("away", "away")
	if err := away.Join(RoomName(1)); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		at     time.Duration
		action Action
	}{{3 * time.Second, GoOffline}, {8 * time.Second, GoOnline}} {
		if err := c.At(f.at, Fault{Action: f.action, Target: "away"}); err != nil {
			t.Fatal(err)
		}
	}
	if !c.RunUntilQuiet(60 * time.Second) {
		t.Fatalf("the cluster did not settle by %v", c.Now())
	}
	var last, resetFrom uint64
	var dialFailures, resets int
	for _, e := range c.History() {
		if e.Client != "away" {
			continue
		}
		switch e.Event.Kind {
		case client.KindDialFailed:
			dialFailures++
			if at := time.Duration(e.Event.AtMs) * time.Millisecond; at < 3*time.Second || at > 8*time.Second {
				t.Errorf("a dial failed at %v, outside the time offline", at)
			}
		case client.KindReset:
			resets++
			if e.Event.Seq <= last+1 {
				t.Errorf("reset from %d after seq %d: nothing was skipped", e.Event.Seq, last)
			}
			resetFrom, last = e.Event.Seq, e.Event.Seq-1
		case client.KindDelivered:
			if e.Event.Seq != last+1 {
				t.Fatalf("delivered seq %d after %d", e.Event.Seq, last)
			}
			last = e.Event.Seq
		}
	}
	head, _ := c.Redis().Head(RoomName(1))
	if dialFailures == 0 || resets != 1 || last != head {
		t.Fatalf("dial failures %d, resets %d (from %d), last seq %d of head %d; want failures, one reset and the head",
			dialFailures, resets, resetFrom, last, head)
	}
}
