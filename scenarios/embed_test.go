package scenarios

import (
	"slices"
	"strings"
	"testing"

	"chatlab/system/node"
)

// required are the scenarios the lab promises to ship: CI runs every file
// in scenarios/, so a file removed by mistake would otherwise just go unrun.
var required = []string{"away", "balancer-restart", "flood", "network-delay", "node-crash", "node-restart",
	"pubsub-loses", "quiet-rooms", "redis-loss-race", "redis-partition", "redis-restart", "rolling-restart", "slow-consumer"}

func TestEmbeddedScenariosParse(t *testing.T) {
	all, err := embedded()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range all {
		names = append(names, s.Name)
		if s.File != "scenarios/"+s.Name+".yaml" {
			t.Errorf("%s: file %q", s.Name, s.File)
		}
		// A newcomer reads the description first: it must say something.
		if len(strings.Fields(s.Description)) < 20 {
			t.Errorf("%s: the description is too short to explain the scenario: %q", s.Name, s.Description)
		}
		if len(s.Faults) == 0 {
			t.Errorf("%s: no faults", s.Name)
		}
		for _, fault := range s.Faults {
			if fault.End() > s.Workload.Duration {
				t.Errorf("%s: fault %s ends after the workload", s.Name, fault.Action)
			}
		}
		if s.Topology.Delivery == node.PubSub && !slices.Contains(s.Expect.Break, NoLoss) {
			t.Errorf("%s: the pubsub mode must be expected to lose messages", s.Name)
		}
	}
	for _, name := range required {
		if !slices.Contains(names, name) {
			t.Errorf("scenario %s is missing", name)
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("All is not sorted: %v", names)
	}
	pubsub, err := Load("pubsub-loses")
	if err != nil {
		t.Fatal(err)
	}
	if pubsub.Topology.Delivery != node.PubSub || !slices.Equal(pubsub.Expect.Break, []Property{NoLoss, Acks}) {
		t.Errorf("pubsub-loses: %+v %+v", pubsub.Topology, pubsub.Expect)
	}
}

func TestLoadUnknownNameListsTheKnown(t *testing.T) {
	_, err := Load("node-restrat")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"unknown scenario 'node-restrat'", "(did you mean 'node-restart'?)", "known scenarios: abuse-connflood, abuse-garbage, abuse-joinflood, abuse-upgrade-aborts, away, balancer-restart,"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err.Error(), want)
		}
	}
}

func TestAllGivesEachCallerItsOwnCopy(t *testing.T) {
	first, err := Load("node-restart")
	if err != nil {
		t.Fatal(err)
	}
	first.Topology.Delivery = node.PubSub
	first.Faults[0].Target = "changed"
	second, err := Load("node-restart")
	if err != nil {
		t.Fatal(err)
	}
	if second.Topology.Delivery != node.Recover || second.Faults[0].Target != "n1" {
		t.Errorf("a change to one caller's scenario reached another's")
	}
}
