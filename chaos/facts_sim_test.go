package chaos

import (
	"context"
	"slices"
	"strings"
	"testing"

	"chatlab/chaos/check"
	"chatlab/scenarios"
	"chatlab/system/balance"
)

// A balancer that ignores its backends' health, planted in the real
// balance state machine, sends new connections to a node it marked down
// while node-crash keeps n1 down: the balancer check fails, with the
// correct balancer it holds.
func TestTheBalancerCheckCatchesABalancerThatIgnoresHealth(t *testing.T) {
	sc, err := scenarios.Load("node-crash")
	if err != nil {
		t.Fatal(err)
	}
	for _, mutation := range []balance.Mutation{balance.MutationNone, balance.MutationIgnoreHealth} {
		result, err := Run(context.Background(), RunOptions{Scenario: sc, Seed: 1, Delivery: sc.Topology.Delivery,
			Cluster: NewSimCluster(sc, SimOptions{Seed: 1, BalanceMutation: mutation})})
		if err != nil {
			t.Fatal(err)
		}
		c := checkNamed(result.Checks, check.CheckBalancer)
		if c.OK != (mutation == balance.MutationNone) {
			t.Fatalf("balancer mutation %q: balancer check ok=%v: %s %+v", mutation, c.OK, c.Detail, c.Examples)
		}
	}
}

// Every stalled client of slow-consumer is cut off with 4000 and resumes:
// the cut-off check sees all three.
func TestSlowConsumerCutsOffEveryStalledClientOnSim(t *testing.T) {
	result := runSim(t, "slow-consumer", 1, "", "")
	c := checkNamed(result.Checks, check.CheckCutOff)
	if !c.OK || c.Detail[:len("3 of 3")] != "3 of 3" {
		t.Fatalf("cut-off: ok=%v %s %+v", c.OK, c.Detail, c.Examples)
	}
}

// A balancer that lets one address spend the new-connection allowance
// every client shares lets abuse-connflood's flooder starve the
// well-behaved clients' reconnects: the no-harm check fails; with the
// per-address limit it holds.
func TestTheNoHarmCheckCatchesABalancerWithoutItsPerAddressLimit(t *testing.T) {
	sc, err := scenarios.Load("abuse-connflood")
	if err != nil {
		t.Fatal(err)
	}
	for _, mutation := range []balance.Mutation{balance.MutationNone, balance.MutationIgnoreSourceLimit} {
		result, err := Run(context.Background(), RunOptions{Scenario: sc, Seed: 1, Delivery: sc.Topology.Delivery,
			Cluster: NewSimCluster(sc, SimOptions{Seed: 1, BalanceMutation: mutation})})
		if err != nil {
			t.Fatal(err)
		}
		c := checkNamed(result.Checks, check.CheckNoHarm)
		if c.OK != (mutation == balance.MutationNone) || (c.OK && !strings.Contains(c.Detail, "0 dials refused")) {
			t.Fatalf("balancer mutation %q: no-harm ok=%v: %s %+v", mutation, c.OK, c.Detail, c.Examples)
		}
	}
}

// The check knows every abuse the scenario format has.
func TestTheNoHarmCheckKnowsEveryAbuse(t *testing.T) {
	var abuses []string
	for _, action := range scenarios.Actions() {
		if action.Abuse() {
			abuses = append(abuses, string(action))
		}
	}
	if !slices.Equal(abuses, check.AbuseActions) {
		t.Errorf("scenario abuses %v, the no-harm check's %v", abuses, check.AbuseActions)
	}
}
