package chaos

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"chatlab/chaos/check"
	"chatlab/scenarios"
	"chatlab/system/client"
	"chatlab/system/node"
)

func runSim(t *testing.T, name string, seed uint64, delivery node.Delivery, mutation node.Mutation) *Result {
	t.Helper()
	sc, err := scenarios.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	if delivery == "" {
		delivery = sc.Topology.Delivery
	}
	result, err := Run(context.Background(), RunOptions{Scenario: sc, Seed: seed, Delivery: delivery,
		Cluster: NewSimCluster(sc, SimOptions{Seed: seed, Delivery: delivery, Mutation: mutation})})
	if err != nil {
		t.Fatalf("%s seed %d: %v", name, seed, err)
	}
	return result
}

// TestEveryScenarioMeetsItsExpectationsOnSim runs each built-in scenario on
// a few seeds (CI sweeps more with `make sweep`).
func TestEveryScenarioMeetsItsExpectationsOnSim(t *testing.T) {
	seeds := []uint64{1, 2, 3}
	if testing.Short() {
		seeds = seeds[:1]
	}
	for _, sc := range scenarios.All() {
		if sc.ProcessProperty() != "" {
			continue // real targets only: TestSimRefusesProcessProperties
		}
		for _, seed := range seeds {
			t.Run(fmt.Sprintf("%s/seed%d", sc.Name, seed), func(t *testing.T) {
				result := runSim(t, sc.Name, seed, "", "")
				if !result.Passed() {
					t.Fatalf("verdict %s: %v", result.Verdict, result.Failures)
				}
				if result.Stats.Acked == 0 || result.Stats.Delivered == 0 {
					t.Fatalf("the run carried no traffic: %+v", result.Stats)
				}
			})
		}
	}
}

// A scenario judged on the processes themselves is refused by the
// simulator, whose nodes are no processes, before anything runs.
func TestSimRefusesProcessProperties(t *testing.T) {
	sc := parseScenario(t, shortRestart, "DELIVERY", "recover", "EXPECT", "hold: [no-loss, no-leak]")
	_, err := Run(context.Background(), RunOptions{Scenario: sc, Seed: 1, Cluster: NewSimCluster(sc, SimOptions{Seed: 1})})
	var refused *RefusedError
	if !errors.As(err, &refused) || !strings.Contains(err.Error(), "no-leak") {
		t.Fatalf("soak on sim: %v; want a refusal naming no-leak", err)
	}
}

// A scenario on a Redis Cluster is refused by the docker target, which
// starts none; the simulator runs it on its own Redis Cluster.
func TestRedisClusterScenariosAreRefusedOnDocker(t *testing.T) {
	sc, err := scenarios.Load("redis-failover-unsafe")
	if err != nil {
		t.Fatal(err)
	}
	var refused *RefusedError
	if _, err := NewDockerCluster(sc, DockerOptions{}); !errors.As(err, &refused) {
		t.Fatalf("on docker: %v; want a refusal", err)
	}
}

// Any scenario whose faults spare the one Redis runs on the simulator's
// Redis Cluster too (--redis cluster), and holds there.
func TestNodeRestartPassesOnSimRedisCluster(t *testing.T) {
	sc, err := scenarios.Load("node-restart")
	if err != nil {
		t.Fatal(err)
	}
	cluster := NewSimCluster(sc, SimOptions{Seed: 1, RedisCluster: true})
	result, err := Run(context.Background(), RunOptions{Scenario: sc, Seed: 1, Cluster: cluster})
	if err != nil {
		t.Fatal(err)
	}
	if !result.Passed() || result.Stats.Acked == 0 {
		t.Fatalf("verdict %s, %+v: %v", result.Verdict, result.Stats, result.Failures)
	}
	if servers := cluster.(*simCluster).Sim().RedisServers(); len(servers) != 6 {
		t.Fatalf("%d Redis servers; want a cluster of 3 masters and 3 replicas", len(servers))
	}
}

func TestPubSubLosesIsCaughtLosing(t *testing.T) {
	result := runSim(t, "pubsub-loses", 4, "", "")
	if !result.Passed() || result.Stats.Lost == 0 {
		t.Fatalf("verdict %s, lost %d: pubsub mode must be caught losing messages", result.Verdict, result.Stats.Lost)
	}
	// The same scenario in recover mode loses nothing, so its expectation
	// (no-loss must break) fails.
	recovered := runSim(t, "pubsub-loses", 4, node.Recover, "")
	if recovered.Stats.Lost != 0 || recovered.Passed() {
		t.Fatalf("recover mode: lost %d, verdict %s; want no loss and a failed 'must break'", recovered.Stats.Lost, recovered.Verdict)
	}
}

// TestMutatedNodesAreCaught breaks the node on purpose and expects the
// checker that exists for that bug to fire, and the verdict to fail.
func TestMutatedNodesAreCaught(t *testing.T) {
	cases := map[node.Mutation][]string{
		node.MutationDrop:        {check.CheckNoLoss, check.CheckAcks},
		node.MutationDuplicate:   {check.CheckNoDuplicates},
		node.MutationSwap:        {check.CheckOrder, check.CheckClientDedupe},
		node.MutationIgnoreSince: {check.CheckNoLoss, check.CheckResume, check.CheckAcks},
	}
	for mutation, fired := range cases {
		t.Run(string(mutation), func(t *testing.T) {
			result := runSim(t, "node-restart", 1, "", mutation)
			if result.Passed() {
				t.Fatal("a broken node passed")
			}
			if result.Mutation != mutation {
				t.Errorf("the result says mutation %q, want %q", result.Mutation, mutation)
			}
			for _, name := range fired {
				if c := checkNamed(result.Checks, name); c.OK || c.Violations == 0 {
					t.Errorf("check %s did not fire: %+v", name, c)
				}
			}
		})
	}
}

func TestSameSeedSameRunDifferentSeedDifferentRun(t *testing.T) {
	a := runSim(t, "node-restart", 9, "", "")
	b := runSim(t, "node-restart", 9, "", "")
	c := runSim(t, "node-restart", 10, "", "")
	if a.TraceHash == "" || a.TraceHash != b.TraceHash {
		t.Fatalf("seed 9 gave trace hashes %q and %q", a.TraceHash, b.TraceHash)
	}
	if a.TraceHash == c.TraceHash {
		t.Fatalf("seeds 9 and 10 gave the same trace hash %q", a.TraceHash)
	}
	if a.Stats != b.Stats {
		t.Fatalf("seed 9 gave different stats: %+v and %+v", a.Stats, b.Stats)
	}
}

func checkNamed(checks []check.Check, name string) check.Check {
	for _, c := range checks {
		if c.Name == name {
			return c
		}
	}
	return check.Check{Name: name}
}

// The away scenario takes its last clients off the network, and its small
// retention makes the long absence end in a reset: the fault and the
// settings reach the simulated clients, nodes and Redis.
func TestAwayTakesTheLastClientsOffTheNetworkPastRetention(t *testing.T) {
	result := runSim(t, "away", 1, "", "")
	if !result.Passed() {
		t.Fatalf("verdict %s: %v", result.Verdict, result.Failures)
	}
	away := map[string]bool{}
	for i := 31; i <= 40; i++ { // the last ten of forty
		away[fmt.Sprintf("c%03d", i)] = true
	}
	reset := map[string]bool{}
	for _, r := range result.History {
		switch r.Kind {
		case client.KindDialFailed:
			if !away[r.Client] {
				t.Fatalf("%s failed a dial but never went away", r.Client)
			}
		case client.KindReset:
			if !away[r.Client] {
				t.Fatalf("%s was reset but never went away: %+v", r.Client, r.Event)
			}
			reset[r.Client] = true
		}
	}
	if len(reset) != len(away) {
		t.Fatalf("%d of the %d clients away past retention were told with a reset", len(reset), len(away))
	}
}

// node-restart does what it says: n1's clients move to the surviving
// nodes while it is down, and some come back to it once it is up.
func TestNodeRestartClientsMoveAndComeBack(t *testing.T) {
	result := runSim(t, "node-restart", 1, "", "")
	sc, err := scenarios.Load("node-restart")
	if err != nil {
		t.Fatal(err)
	}
	restart := sc.Faults[0]
	down, up := restart.At.Milliseconds(), restart.End().Milliseconds()
	onN1, moved, back := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, r := range result.History {
		if r.Kind != client.KindWelcome {
			continue
		}
		switch {
		case r.AtMs < down:
			onN1[r.Client] = r.Node == restart.Target // where it was when n1 went down
		case r.AtMs < up:
			if r.Node == restart.Target {
				t.Fatalf("%s was welcomed by %s at %d ms, while it was down", r.Client, r.Node, r.AtMs)
			}
			if onN1[r.Client] {
				moved[r.Client] = true
			}
		case r.AtMs >= up && r.Node == restart.Target && moved[r.Client]:
			back[r.Client] = true
		}
	}
	hit := 0
	for _, on := range onN1 {
		if on {
			hit++
		}
	}
	if hit == 0 || len(moved) != hit || len(back) == 0 {
		t.Fatalf("%d clients on %s, %d moved while it was down, %d came back; want all of them to move and some back",
			hit, restart.Target, len(moved), len(back))
	}
}

// redis-restart reconnects clients across the data loss: some connect
// while Redis is down, and the clients away across it come back with the
// old epoch and are told with a reset into the new one.
func TestRedisRestartReconnectsAcrossTheDataLoss(t *testing.T) {
	sc, err := scenarios.Load("redis-restart")
	if err != nil {
		t.Fatal(err)
	}
	away, restart := sc.Faults[0], sc.Faults[1]
	if away.Action != scenarios.Away || restart.Action != scenarios.RedisRestart || away.At >= restart.At || away.End() <= restart.End() {
		t.Fatalf("faults %+v: want clients away from before the restart to after it", sc.Faults)
	}
	result := runSim(t, "redis-restart", 1, "", "")
	if !result.Passed() {
		t.Fatalf("verdict %s: %v", result.Verdict, result.Failures)
	}
	awayClients := map[string]bool{}
	for i := sc.Workload.Clients - away.Clients + 1; i <= sc.Workload.Clients; i++ {
		awayClients[fmt.Sprintf("c%03d", i)] = true
	}
	down, up := restart.At.Milliseconds(), restart.End().Milliseconds()
	connectedDuringLoss := 0
	epochBefore := map[string]string{} // room -> an epoch seen before the loss
	resetIntoNewEpoch := map[string]bool{}
	for _, r := range result.History {
		switch {
		case r.Kind == client.KindConnected && r.AtMs >= down && r.AtMs < up:
			connectedDuringLoss++
		case r.Kind == client.KindDelivered && r.AtMs < down:
			epochBefore[r.Room] = r.Epoch
		case r.Kind == client.KindReset && awayClients[r.Client] && r.AtMs >= away.End().Milliseconds():
			if r.Seq == 1 && r.Epoch != "" && r.Epoch != epochBefore[r.Room] {
				resetIntoNewEpoch[r.Client] = true
			}
		}
	}
	if connectedDuringLoss == 0 || len(resetIntoNewEpoch) != len(awayClients) {
		t.Fatalf("%d connections while Redis was down, %d of %d clients away across the loss reset into the new epoch",
			connectedDuringLoss, len(resetIntoNewEpoch), len(awayClients))
	}
}
