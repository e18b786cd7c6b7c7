// Package hunt finds failures nobody scripted: it generates scenarios from
// a seed (topology and workload knobs, a random fault schedule), runs them
// on the simulator with every check, and shrinks each failing one to the
// smallest scenario that still fails the same check.
//
// Generation follows swarm testing: each generated scenario enables a
// random subset of the format's fault kinds (scenarios.Actions) and draws
// its faults from those only, so that rare combinations get weight. Every
// generated scenario is encoded and parsed back (scenarios.Parse): what
// runs is exactly what the written file says.
package hunt

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"chatlab/scenarios"
	"chatlab/system/balance"
)

// Generation bounds: small enough that a run takes a second or two on the
// simulator, large enough for faults to overlap traffic.
const (
	nodesMax      = 4
	clientsMax    = 24
	roomsMax      = 4
	durationMin   = 8 * time.Second
	durationMax   = 20 * time.Second
	faultsMax     = 4
	drawAttempts  = 8
	faultClientsN = 3 // a fault takes at most clients/faultClientsN of the workload's clients
)

// Hold is what a generated scenario expects to hold: every property but
// cut-off. Cut-off holds a stalled client to being cut off, which happens
// only once enough traffic fills the network's buffers and the node's
// send queue during the stall: a short stall in a quiet room is never cut
// off, rightly, so a generator cannot promise it. A stalled client must
// still lose nothing and resume (no-loss, resume), and cut-off is reported
// as observed.
var Hold = []scenarios.Property{scenarios.NoLoss, scenarios.NoDuplicates, scenarios.Order, scenarios.Resumed,
	scenarios.Linearizable, scenarios.Liveness, scenarios.ClientDedupe, scenarios.Acks, scenarios.Resets,
	scenarios.Welcome, scenarios.Integrity, scenarios.CloseCodes, scenarios.Balanced, scenarios.Recovered}

// recoveryLatencyMax is a generated scenario's recovery bound: the
// clients' longest reconnect backoff (5 s) and a second. With a handful of
// clients, one sender caught in a backoff, a reconnect of its own or a
// pub/sub break's 2 s catch-up poll is the p99; the hunt is after
// deliveries that never recover, not after slow ones.
const recoveryLatencyMax = 6 * time.Second

// convergeWithin is a generated scenario's liveness bound: clients that
// were away or stalled until late back off for seconds before they redial.
const convergeWithin = 20 * time.Second

// faultMaker draws one fault of its action at at, for a scenario with the
// given topology and workload. Drawn faults need not fit the timeline
// (resuming what is not paused): the generator asks the parser and draws
// again.
type faultMaker func(r *rand.Rand, at time.Duration, s *scenarios.Scenario) scenarios.Fault

// faultMakers has one maker per fault action of the format but those on a
// Redis Cluster, which the simulator does not run. A new action
// gets a maker here; TestEveryActionHasAMaker fails until it does.
var faultMakers = map[scenarios.Action]faultMaker{
	scenarios.Kill: func(r *rand.Rand, at time.Duration, s *scenarios.Scenario) scenarios.Fault {
		return scenarios.Fault{At: at, Action: scenarios.Kill, Target: pick(r, s.Topology.Nodes), Duration: window(r, at, s)}
	},
	scenarios.Restart: func(r *rand.Rand, at time.Duration, s *scenarios.Scenario) scenarios.Fault {
		f := scenarios.Fault{At: at, Action: scenarios.Restart, Target: pick(r, s.Topology.Nodes)}
		if r.IntN(2) == 0 {
			f.Duration = window(r, at, s)
		}
		return f
	},
	scenarios.Pause: func(r *rand.Rand, at time.Duration, s *scenarios.Scenario) scenarios.Fault {
		f := scenarios.Fault{At: at, Action: scenarios.Pause, Target: pick(r, append(slices.Clone(s.Topology.Nodes), "redis", "balancer"))}
		if r.IntN(3) > 0 { // else a later resume ends it
			f.Duration = window(r, at, s)
		}
		return f
	},
	scenarios.Resume: func(r *rand.Rand, at time.Duration, s *scenarios.Scenario) scenarios.Fault {
		return scenarios.Fault{At: at, Action: scenarios.Resume, Target: pick(r, openPauses(s))}
	},
	scenarios.Drain: func(r *rand.Rand, at time.Duration, s *scenarios.Scenario) scenarios.Fault {
		return scenarios.Fault{At: at, Action: scenarios.Drain, Target: pick(r, s.Topology.Nodes), Duration: window(r, at, s)}
	},
	scenarios.Partition: func(r *rand.Rand, at time.Duration, s *scenarios.Scenario) scenarios.Fault {
		f := linkFault(r, at, s, scenarios.Partition)
		f.Direction = pick(r, []scenarios.Direction{scenarios.Both, scenarios.Both, scenarios.To, scenarios.From})
		if r.IntN(3) > 0 { // else a later heal ends it
			f.Duration = window(r, at, s)
		}
		return f
	},
	scenarios.Heal: func(r *rand.Rand, at time.Duration, s *scenarios.Scenario) scenarios.Fault {
		f := scenarios.Fault{At: at, Action: scenarios.Heal}
		if open := openPartitions(s); len(open) > 0 && r.IntN(2) == 0 {
			link := pick(r, open)
			f.Target, f.Link = link[0]+"-"+link[1], link
		}
		return f
	},
	scenarios.RedisRestart: func(r *rand.Rand, at time.Duration, s *scenarios.Scenario) scenarios.Fault {
		return scenarios.Fault{At: at, Action: scenarios.RedisRestart, Target: "redis", Persist: r.IntN(2) == 0,
			Duration: window(r, at, s)}
	},
	scenarios.Delay: func(r *rand.Rand, at time.Duration, s *scenarios.Scenario) scenarios.Fault {
		f := linkFault(r, at, s, scenarios.Delay)
		f.Latency = time.Duration(5+r.IntN(300)) * time.Millisecond
		f.Jitter = time.Duration(r.Int64N(int64(f.Latency)/time.Millisecond.Nanoseconds()+1)) * time.Millisecond
		f.Duration = window(r, at, s)
		return f
	},
	scenarios.Loss: func(r *rand.Rand, at time.Duration, s *scenarios.Scenario) scenarios.Fault {
		f := linkFault(r, at, s, scenarios.Loss)
		f.Percent = float64(1 + r.IntN(30))
		f.Duration = window(r, at, s)
		return f
	},
	scenarios.Flood: func(r *rand.Rand, at time.Duration, s *scenarios.Scenario) scenarios.Fault {
		target := "balancer"
		if r.IntN(3) == 0 {
			target = pick(r, s.Topology.Nodes)
		}
		return scenarios.Fault{At: at, Action: scenarios.Flood, Target: target, Clients: 1 + r.IntN(4),
			FloodSendRate: scenarios.Rate(20 + r.IntN(60)), Duration: window(r, at, s)}
	},
	scenarios.SlowConsumer: func(r *rand.Rand, at time.Duration, s *scenarios.Scenario) scenarios.Fault {
		return scenarios.Fault{At: at, Action: scenarios.SlowConsumer, Clients: faultClients(r, s), Duration: window(r, at, s)}
	},
	scenarios.BalancerRestart: func(r *rand.Rand, at time.Duration, s *scenarios.Scenario) scenarios.Fault {
		return scenarios.Fault{At: at, Action: scenarios.BalancerRestart, Target: "balancer", Duration: window(r, at, s)}
	},
	scenarios.Away: func(r *rand.Rand, at time.Duration, s *scenarios.Scenario) scenarios.Fault {
		return scenarios.Fault{At: at, Action: scenarios.Away, Clients: faultClients(r, s), Duration: window(r, at, s)}
	},
	scenarios.JoinFlood: func(r *rand.Rand, at time.Duration, s *scenarios.Scenario) scenarios.Fault {
		return abuseFault(r, at, s, scenarios.JoinFlood, 1+r.IntN(4), scenarios.Rate(200+r.IntN(2000)))
	},
	scenarios.ConnFlood: func(r *rand.Rand, at time.Duration, s *scenarios.Scenario) scenarios.Fault {
		return abuseFault(r, at, s, scenarios.ConnFlood, 20+r.IntN(200), scenarios.Rate(100+r.IntN(1000)))
	},
	scenarios.UpgradeAborts: func(r *rand.Rand, at time.Duration, s *scenarios.Scenario) scenarios.Fault {
		f := abuseFault(r, at, s, scenarios.UpgradeAborts, 10+r.IntN(200), scenarios.Rate(1+r.IntN(3)))
		f.Target = "balancer"
		return f
	},
	scenarios.Garbage: func(r *rand.Rand, at time.Duration, s *scenarios.Scenario) scenarios.Fault {
		return abuseFault(r, at, s, scenarios.Garbage, 1+r.IntN(4), scenarios.Rate(10+r.IntN(2000)))
	},
	scenarios.PubSubKill: func(_ *rand.Rand, at time.Duration, _ *scenarios.Scenario) scenarios.Fault {
		return scenarios.Fault{At: at, Action: scenarios.PubSubKill, Target: "redis"}
	},
	scenarios.PubSubDrop: func(r *rand.Rand, at time.Duration, s *scenarios.Scenario) scenarios.Fault {
		return scenarios.Fault{At: at, Action: scenarios.PubSubDrop, Target: pick(r, append(slices.Clone(s.Topology.Nodes), "redis")),
			Percent: float64(5 + r.IntN(46)), Duration: window(r, at, s)}
	},
}

// abuseFault is an abuse through the balancer or, now and then, at one node.
func abuseFault(r *rand.Rand, at time.Duration, s *scenarios.Scenario, action scenarios.Action, clients int, rate scenarios.Rate) scenarios.Fault {
	target := "balancer"
	if r.IntN(3) == 0 {
		target = pick(r, s.Topology.Nodes)
	}
	return scenarios.Fault{At: at, Action: action, Target: target, Clients: clients, Rate: rate, Duration: window(r, at, s)}
}

// Generate makes the scenario of one hunt run: the same (seed, index)
// always gives the same scenario. The scenario has been through the
// parser.
func Generate(seed uint64, index int) *scenarios.Scenario {
	r := rand.New(rand.NewPCG(seed, uint64(index)))
	name := fmt.Sprintf("hunt-%d-%d", seed, index)
	s := &scenarios.Scenario{
		Name:        name,
		Description: fmt.Sprintf("Generated by chatlab hunt --seed %d (run %d).", seed, index),
		Topology:    generateTopology(r),
		Workload:    generateWorkload(r),
		Expect: scenarios.Expectations{Hold: slices.Clone(Hold), ConvergeWithin: convergeWithin,
			RecoveryLatencyMaxMs: recoveryLatencyMax.Milliseconds()},
	}
	valid := mustParse(s)
	kinds := enabledKinds(r)
	count := r.IntN(faultsMax + 1)
	if len(kinds) == 0 {
		count = 0
	}
	at := time.Duration(0)
	for range count {
		// Faults lie in the workload's first three quarters, in time order.
		last := s.Workload.Duration * 3 / 4
		if at >= last {
			break
		}
		at += time.Duration(r.Int64N(int64(last-at)/int64(100*time.Millisecond)+1)) * 100 * time.Millisecond
		for range drawAttempts {
			fault := faultMakers[pick(r, kinds)](r, at, s)
			s.Faults = append(s.Faults, fault)
			if parsed, err := parse(s); err == nil {
				valid = parsed
				break
			}
			s.Faults = s.Faults[:len(s.Faults)-1]
		}
	}
	return valid
}

// enabledKinds is the run's swarm: each action enabled with even odds.
func enabledKinds(r *rand.Rand) []scenarios.Action {
	var kinds []scenarios.Action
	for _, action := range scenarios.Actions() {
		if action.NeedsRedisCluster() {
			// The hunt's topologies are on one Redis, where no failover runs.
			continue
		}
		if r.IntN(2) == 0 {
			kinds = append(kinds, action)
		}
	}
	return kinds
}

func generateTopology(r *rand.Rand) scenarios.Topology {
	// The parser's defaults, so that knobs the generator leaves alone
	// (including ones added to the format later) keep them.
	base, err := scenarios.Parse("base.yaml", []byte("name: base\ndescription: base\n"+
		"workload: {clients: 1, rooms: 1, send_rate: 1/s, duration: 1s}\nexpect: {hold: [no-loss]}\n"))
	if err != nil {
		panic("hunt: the base scenario: " + err.Error())
	}
	t := base.Topology
	t.Nodes = nil
	for i := range 1 + r.IntN(nodesMax) {
		t.Nodes = append(t.Nodes, fmt.Sprintf("n%d", i+1))
	}
	t.Policy = pick(r, []balance.Policy{balance.RoundRobin, balance.LeastConnections, balance.HashUser})
	t.RedisPersistence = pick(r, []scenarios.Persistence{scenarios.PersistenceNone, scenarios.PersistenceAOF})
	if r.IntN(3) == 0 {
		t.RecentLenMax = 8 + r.IntN(250)
	}
	if r.IntN(3) == 0 {
		t.HistoryLenMax = 50 + r.IntN(1000)
	}
	if r.IntN(4) == 0 {
		t.PubSubBreakEvery = time.Duration(500+r.IntN(5000)) * time.Millisecond
	}
	return t
}

func generateWorkload(r *rand.Rand) scenarios.Workload {
	w := scenarios.Workload{
		Clients:           2 + r.IntN(clientsMax-1),
		Rooms:             1 + r.IntN(roomsMax),
		SendRatePerClient: scenarios.Rate(float64(1+r.IntN(6)) / 2),
		MessageBytes:      pick(r, []int{16, 64, 64, 256, 1024}),
		Duration:          durationMin + time.Duration(r.Int64N(int64((durationMax-durationMin)/time.Second)+1))*time.Second,
		SendBurst:         1,
	}
	if r.IntN(2) == 0 {
		w.JoinLeave = scenarios.Rate(float64(1+r.IntN(4)) / 60)
	}
	if r.IntN(2) == 0 {
		w.Reconnects = scenarios.Rate(float64(1+r.IntN(4)) / 60)
	}
	return w
}

// window draws a fault's duration: 0.5 s to 6 s, ending within the
// workload.
func window(r *rand.Rand, at time.Duration, s *scenarios.Scenario) time.Duration {
	longest := min(6*time.Second, s.Workload.Duration-at)
	if longest < 500*time.Millisecond {
		return longest
	}
	steps := int64((longest - 500*time.Millisecond) / (100 * time.Millisecond))
	return 500*time.Millisecond + time.Duration(r.Int64N(steps+1))*100*time.Millisecond
}

func linkFault(r *rand.Rand, at time.Duration, s *scenarios.Scenario, action scenarios.Action) scenarios.Fault {
	n := pick(r, s.Topology.Nodes)
	other := pick(r, []string{"redis", "balancer"})
	link := [2]string{n, other}
	if other == "balancer" {
		link = [2]string{other, n}
	}
	return scenarios.Fault{At: at, Action: action, Target: link[0] + "-" + link[1], Link: link}
}

// faultClients draws how many of the workload's clients a fault takes: at
// least one, at most a third.
func faultClients(r *rand.Rand, s *scenarios.Scenario) int {
	return 1 + r.IntN(max(1, s.Workload.Clients/faultClientsN))
}

// openPauses are the targets paused without a window so far; "redis"
// when there are none (the parser refuses that resume).
func openPauses(s *scenarios.Scenario) []string {
	var open []string
	for _, f := range s.Faults {
		switch {
		case f.Action == scenarios.Pause && f.Duration == 0:
			open = append(open, f.Target)
		case f.Action == scenarios.Resume:
			open = slices.DeleteFunc(open, func(t string) bool { return t == f.Target })
		}
	}
	if len(open) == 0 {
		return []string{"redis"}
	}
	return open
}

// openPartitions are the links cut without a window so far.
func openPartitions(s *scenarios.Scenario) [][2]string {
	var open [][2]string
	for _, f := range s.Faults {
		switch {
		case f.Action == scenarios.Partition && f.Duration == 0:
			open = append(open, f.Link)
		case f.Action == scenarios.Heal && f.Target == "":
			open = nil
		case f.Action == scenarios.Heal:
			open = slices.DeleteFunc(open, func(l [2]string) bool { return l == f.Link })
		}
	}
	return open
}

func pick[T any](r *rand.Rand, from []T) T { return from[r.IntN(len(from))] }

// parse encodes s and parses it back: nil error means s is a valid
// scenario file.
func parse(s *scenarios.Scenario) (*scenarios.Scenario, error) {
	return scenarios.Parse(s.Name+".yaml", s.Encode(""))
}

// mustParse is parse for what the generator builds to be valid: a refusal
// is a bug of the generator.
func mustParse(s *scenarios.Scenario) *scenarios.Scenario {
	parsed, err := parse(s)
	if err != nil {
		panic("hunt: generated an invalid scenario: " + err.Error())
	}
	return parsed
}
