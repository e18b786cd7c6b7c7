package chaos

import (
	"cmp"
	"slices"
	"time"

	"chatlab/chaos/check"
	"chatlab/scenarios"
	"chatlab/system/balance"
	"chatlab/system/node"
)

// deliveryLagMaxRealMs is the least delivery-lag bound of a real target:
// clean local runs on a loaded two-core machine show one room on a node
// lagging up to 2.5 s behind the others for a moment, which the
// simulator's virtual time never does.
const deliveryLagMaxRealMs = 3000

// harmLatencyMaxRealMs is the least no-harm latency bound of a real
// target: clean local runs of the abuse scenarios on a loaded two-core
// machine, where the abusers share the cores with the cluster and the
// clients, show a p99 up to about 650 ms.
const harmLatencyMaxRealMs = 2000

// runFacts gathers what the fact checks read from a run: the scenario's
// fault timeline and bounds, and the balancer's decision log. A real
// target holds delivery lag to at least deliveryLagMaxRealMs and the
// well-behaved clients' latency during an abuse to harmLatencyMaxRealMs.
func runFacts(sc *scenarios.Scenario, decisions []balance.Decision, real bool) check.Facts {
	facts := check.Facts{
		Faults:                 faultSpans(sc.Faults),
		RecoverWithinMs:        sc.Expect.RecoverWithin.Milliseconds(),
		RecoveryLatencyMaxMs:   float64(cmp.Or(sc.Expect.RecoveryLatencyMaxMs, sc.Expect.LatencyP99MaxMs)),
		CutOffWithinMs:         sc.Expect.CutOffWithin.Milliseconds(),
		DeliveryLagMaxMs:       float64(sc.Expect.DeliveryLagMaxMs),
		HarmLatencyMaxMs:       float64(cmp.Or(sc.Expect.HarmLatencyMaxMs, sc.Expect.LatencyP99MaxMs)),
		LatencyExcludedSenders: []string{FloodClientPrefix},
		// No scenario sets the nodes' send allowance: every target runs
		// the default.
		SendBurst:         node.RateBurstDefault,
		SendRatePerSecond: node.RatePerSecondDefault,
		Decisions:         make([]check.BalancerDecision, len(decisions)),
	}
	if giveUps := slices.DeleteFunc([]time.Duration{sc.Topology.WriteTimeout, sc.Topology.BalancerWriteWait},
		func(d time.Duration) bool { return d <= 0 }); len(giveUps) > 0 {
		facts.WriteGiveUpMs = slices.Min(giveUps).Milliseconds()
	}
	if real {
		facts.HostsMayLag = true
		facts.DeliveryLagMaxMs = max(cmp.Or(facts.DeliveryLagMaxMs, check.DeliveryLagMaxDefault), deliveryLagMaxRealMs)
		facts.HarmLatencyMaxMs = max(cmp.Or(facts.HarmLatencyMaxMs, check.HarmLatencyMaxDefault), harmLatencyMaxRealMs)
	}
	for i, d := range decisions {
		facts.Decisions[i] = check.BalancerDecision{Kind: string(d.Kind), AtMs: d.AtMs, Backend: d.Backend, Conn: uint64(d.Conn),
			User: d.User, Up: d.Up, Draining: d.Draining, Reason: d.Reason, Policy: string(d.Policy),
			ConnectionsMax: d.ConnectionsMax, HashLoadFactor: d.HashLoadFactor, Cursor: d.Cursor, Avoid: d.Avoid}
		if len(d.Backends) > 0 {
			facts.Decisions[i].Backends = make([]check.PickState, len(d.Backends))
			for j, b := range d.Backends {
				facts.Decisions[i].Backends[j] = check.PickState{Name: b.Name, Load: b.Load, Up: b.Up, Draining: b.Draining}
			}
		}
	}
	return facts
}

// faultSpans turns a timeline into spans: a fault with a window heals at
// its end; a restart or a pub/sub kill is over at once; a heal or a resume ends the faults
// it names; anything else lasts to the end of the run.
func faultSpans(faults []scenarios.Fault) []check.FaultSpan {
	spans := make([]check.FaultSpan, 0, len(faults))
	for _, f := range faults {
		switch f.Action {
		case scenarios.Heal, scenarios.Resume:
			ends := scenarios.Partition
			if f.Action == scenarios.Resume {
				ends = scenarios.Pause
			}
			for i := range spans {
				open := !spans[i].Healed() && spans[i].Action == string(ends)
				if open && (f.Target == "" || spans[i].Target == f.Target) {
					spans[i].ToMs = f.At.Milliseconds()
				}
			}
			continue
		}
		span := check.FaultSpan{Action: string(f.Action), Target: f.Target, FromMs: f.At.Milliseconds(), ToMs: -1}
		switch {
		case f.Duration > 0:
			span.ToMs = f.End().Milliseconds()
		case f.Action == scenarios.Restart || f.Action == scenarios.RedisRestart || f.Action == scenarios.BalancerRestart ||
			f.Action == scenarios.PubSubKill:
			span.ToMs = span.FromMs
		}
		spans = append(spans, span)
	}
	return spans
}
