package check

import (
	"fmt"
	"sort"

	"chatlab/system/client"
)

// rateLimitSlackTokens is what the rate-limit bound adds for the node's
// clock, which moves in ticks: a refill may count a few milliseconds more
// than the client's clock saw pass.
const rateLimitSlackTokens = 2

// acceptance is when one acked send was accepted by the node, as far as the
// client can tell: not before the frame went out on the connection the ack
// came on (the send issued and the connection up), not after the ack.
type acceptance struct {
	id           string
	fromMs, toMs int64
}

// checkRateLimit holds every connection to the node's send allowance: a
// node takes one token from the connection's bucket for each send it
// publishes, the bucket holding SendBurst tokens and refilling by
// SendRatePerSecond, so that one connection cannot pass a flood on to
// Redis. A send was accepted on a connection when its ack came there (the
// node acks on the session that published it), or when the client's own
// message came back there first and the send was issued on that
// connection, so that no other connection ever carried it: between the
// moment it could have gone out there and its ack. In every stretch of
// time, the sends accepted wholly within it must fit the allowance:
// SendBurst plus what the stretch refills.
func checkRateLimit(clients clientRecords, facts Facts) Check {
	v := newVerdict(CheckRateLimit)
	if facts.SendBurst <= 0 || facts.SendRatePerSecond <= 0 {
		return v.done("not applicable: the nodes' send allowance is unknown")
	}
	connections, accepted := 0, 0
	for _, name := range clients.names {
		sentAtMs := map[string]int64{}
		var connectedAtMs int64
		var current []acceptance
		var previous client.Event
		judge := func() {
			if len(current) > 0 {
				connections++
				accepted += len(current)
				judgeAllowance(v, name, current, connectedAtMs, facts)
			}
			current = nil
		}
		for _, r := range clients.records[name] {
			switch r.Kind {
			case client.KindConnected:
				judge()
				connectedAtMs = r.AtMs
			case client.KindDisconnected:
				judge()
			case client.KindSent:
				sentAtMs[r.ID] = r.AtMs
			case client.KindAcked:
				// An ack frame comes from the session that published the
				// send; the client's own message coming back first may
				// have been published from an earlier connection, unless
				// the send was issued on this one.
				ownMessage := previous.Kind == client.KindDelivered && previous.ID == r.ID
				if at, ok := sentAtMs[r.ID]; ok && (!ownMessage || at >= connectedAtMs) {
					current = append(current, acceptance{id: r.ID, fromMs: max(at, connectedAtMs), toMs: r.AtMs})
				}
			}
			previous = r.Event
		}
		judge()
	}
	return v.done(fmt.Sprintf("%d sends accepted on %d connections, each connection within %d at once and %d/s",
		accepted, connections, facts.SendBurst, facts.SendRatePerSecond))
}

// judgeAllowance finds the stretch where one connection's accepted sends
// exceed the allowance the most, and flags it. A stretch worth trying
// begins where some send's acceptance window begins and ends where one
// ends; for each beginning, the k sends ending first among those beginning
// there or later make the fullest stretch of k.
func judgeAllowance(v *verdict, name string, accepted []acceptance, connectedAtMs int64, facts Facts) {
	sort.Slice(accepted, func(i, j int) bool { return accepted[i].fromMs < accepted[j].fromMs })
	var worst struct {
		excess, count, allowed int
		fromMs, toMs           int64
	}
	ends := make([]int64, 0, len(accepted))
	for i := range accepted {
		if i > 0 && accepted[i].fromMs == accepted[i-1].fromMs {
			continue
		}
		fromMs := accepted[i].fromMs
		ends = ends[:0]
		for _, a := range accepted[i:] {
			ends = append(ends, a.toMs)
		}
		sort.Slice(ends, func(a, b int) bool { return ends[a] < ends[b] })
		for k, toMs := range ends {
			allowed := facts.SendBurst + int(int64(facts.SendRatePerSecond)*(toMs-fromMs)/1000) + rateLimitSlackTokens
			if excess := k + 1 - allowed; excess > worst.excess {
				worst.excess, worst.count, worst.allowed, worst.fromMs, worst.toMs = excess, k+1, allowed, fromMs, toMs
			}
		}
	}
	if worst.excess <= 0 {
		return
	}
	v.add(Violation{Kind: "over_send_allowance", Client: name, AtMs: worst.fromMs,
		Message: fmt.Sprintf("%s's connection from %d ms had %d sends accepted between %d ms and %d ms; "+
			"an allowance of %d at once and %d/s admits at most %d there",
			name, connectedAtMs, worst.count, worst.fromMs, worst.toMs, facts.SendBurst, facts.SendRatePerSecond, worst.allowed)})
}
