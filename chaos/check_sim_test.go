package chaos

import (
	"strings"
	"testing"
	"time"

	"chatlab/chaos/check"
	"chatlab/sim"
	"chatlab/system/node"
)

// simRun runs a small simulated cluster (30 clients in 3 rooms, with
// join/leave churn and connection drops) and returns its history. One room
// per client keeps the node's swap mutation inside one room.
func simRun(t *testing.T, delivery node.Delivery, mutation node.Mutation, faults ...sim.Fault) check.History {
	t.Helper()
	c := sim.NewCluster(sim.Topology{Delivery: delivery, Node: node.Config{Mutation: mutation},
		Link: sim.LinkSpec{Latency: time.Millisecond, Jitter: 2 * time.Millisecond, Distribution: sim.Exponential}}, 1)
	c.AddWorkload(sim.Workload{Clients: 30, Rooms: 3, Stop: 20 * time.Second, SendInterval: time.Second,
		JoinLeaveInterval: 8 * time.Second, ReconnectInterval: 6 * time.Second})
	for i, f := range faults {
		if err := c.At(time.Duration(5+5*i)*time.Second, f); err != nil {
			t.Fatal(err)
		}
	}
	if !c.RunUntilQuiet(2 * time.Minute) {
		t.Fatalf("the cluster did not settle by %v", c.Now())
	}
	history := make(check.History, len(c.History()))
	for i, e := range c.History() {
		history[i] = check.Record{Client: e.Client, Event: e.Event}
	}
	return history
}

// TestCheckersOnSimulatedRuns runs the real node and client state machines:
// correct runs, faults included, pass every check, and each of the node's
// mutations fails the checks that exist to catch it.
func TestCheckersOnSimulatedRuns(t *testing.T) {
	crashNode := []sim.Fault{{Action: sim.Crash, Target: "n2"}, {Action: sim.Restart, Target: "n2"}}
	crashRedis := []sim.Fault{{Action: sim.Crash, Target: sim.RedisName}, {Action: sim.Restart, Target: sim.RedisName}}
	for _, c := range []struct {
		name     string
		delivery node.Delivery
		mutation node.Mutation
		faults   []sim.Fault
		failing  string
	}{
		{"node crash", node.Recover, node.MutationNone, crashNode, ""},
		{"redis crash", node.Recover, node.MutationNone, crashRedis, ""},
		{"drop", node.Recover, node.MutationDrop, nil, "no-loss,order,acks"},
		{"duplicate", node.Recover, node.MutationDuplicate, nil, "no-duplicates"},
		{"swap", node.Recover, node.MutationSwap, nil, "no-loss,order,client-dedupe,acks"},
		{"ignore since", node.Recover, node.MutationIgnoreSince, nil, "no-loss,resume,acks"},
		// The naive mode has no dedupe either: a send resent after a
		// reconnect is published, and delivered, twice.
		{"pubsub node crash", node.PubSub, node.MutationNone, crashNode, "no-loss,no-duplicates,order,acks"},
	} {
		t.Run(c.name, func(t *testing.T) {
			checks, stats := check.CheckHistory(simRun(t, c.delivery, c.mutation, c.faults...), check.CheckOptions{})
			var failing []string
			for _, got := range checks {
				if !got.OK {
					failing = append(failing, got.Name)
				}
				// An unknown verdict would pass silently: the search must finish.
				if got.Name == check.CheckLinearizable && c.delivery == node.Recover && !strings.HasSuffix(got.Detail, ": linearizable") {
					t.Fatalf("linearizable: %s", got.Detail)
				}
			}
			if got := strings.Join(failing, ","); got != c.failing {
				t.Fatalf("failing checks %q, want %q; stats %+v; checks %+v", got, c.failing, stats, checks)
			}
			if stats.Acked < 400 || stats.Delivered < 4000 {
				t.Fatalf("too little traffic to judge: %+v", stats)
			}
		})
	}
}
