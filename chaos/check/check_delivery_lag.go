package check

import (
	"fmt"
	"strings"

	"chatlab/system/client"
)

// checkDeliveryLag holds every delivery to a settled receiver to a bound
// on its lag: the time from the message's first appearance (its ack to the
// sender or its first delivery to any client's application, whichever came
// first) to its delivery to this client. Once a message exists, a node
// that hears its room keeps its members within milliseconds of each other;
// a node deaf to a room (a gap only its slow history poll fills, a room it
// forgot to resubscribe) leaves its members seconds behind, which the
// whole run's latency figures and the recovery check's p99 hide. The
// sender's own retries do not count: the lag starts once the message
// exists.
//
// A delivery is judged only when its receiver was settled throughout:
//   - connected to one node since before the message appeared, in the room
//     since before it, and caught up there (a delivery within the bound
//     since its last join): a replay after a reconnect or a join is a
//     catch-up, not a lag;
//   - not stalled (a client that stops reading builds its own backlog);
//   - no fault that could touch its node was active, or healed less than
//     RecoverWithinMs before, at any time from the message's appearance to
//     its delivery. A fault on another node or on its links touches only
//     that node's clients; any other (Redis, the balancer, a flood, clients
//     taken away) touches every node.
//
// Messages from excluded senders (floods) are left out.
func checkDeliveryLag(h History, facts Facts) Check {
	v := newVerdict(CheckDeliveryLag)
	bound := facts.DeliveryLagMaxMs
	appeared := map[string]int64{}
	excluded := map[string]bool{}
	for _, r := range h {
		switch {
		case r.Kind == client.KindSent && hasAnyPrefix(r.Client, facts.LatencyExcludedSenders):
			excluded[r.ID] = true
		case r.Kind == client.KindAcked || passedToApp(r.Event):
			if at, seen := appeared[r.ID]; !seen || r.AtMs < at {
				appeared[r.ID] = r.AtMs
			}
		}
	}
	type receiver struct {
		node        string
		connectedMs int64
		stalled     bool
		joinedMs    map[string]int64
		caughtUp    map[string]bool
		seen        map[string]bool
	}
	receivers := map[string]*receiver{}
	// judged are the deliveries to settled receivers, per node, in the
	// order they happened.
	judged := map[string][]lagged{}
	var nodes []string
	count, leftOut, worst := 0, 0, int64(0)
	for _, r := range h {
		c := receivers[r.Client]
		if c == nil {
			c = &receiver{joinedMs: map[string]int64{}, caughtUp: map[string]bool{}, seen: map[string]bool{}}
			receivers[r.Client] = c
		}
		switch r.Kind {
		case client.KindWelcome:
			c.node, c.connectedMs, c.stalled = r.Node, r.AtMs, false
			clear(c.joinedMs)
			clear(c.caughtUp)
		case client.KindDisconnected:
			c.node = ""
		case client.KindStalled:
			c.stalled = true
		case client.KindJoined:
			c.joinedMs[r.Room], c.caughtUp[r.Room] = r.AtMs, false
		case client.KindLeft:
			delete(c.joinedMs, r.Room)
		case client.KindDelivered:
			if !passedToApp(r.Event) || c.seen[r.ID] || excluded[r.ID] {
				continue
			}
			c.seen[r.ID] = true
			fromMs, known := appeared[r.ID]
			joinedMs, member := c.joinedMs[r.Room]
			lag := r.AtMs - fromMs
			switch {
			case !known || c.node == "" || c.stalled || !member:
				leftOut++
				continue
			case !c.caughtUp[r.Room]:
				// A catch-up after the join: judged from its first prompt
				// delivery on.
				c.caughtUp[r.Room] = float64(lag) <= bound
				leftOut++
				continue
			case c.connectedMs > fromMs || joinedMs > fromMs || faultNear(facts, c.node, fromMs, r.AtMs):
				leftOut++
				continue
			}
			count++
			worst = max(worst, lag)
			if judged[c.node] == nil {
				nodes = append(nodes, c.node)
			}
			judged[c.node] = append(judged[c.node], lagged{record: r, fromMs: fromMs, lag: lag})
		}
	}
	for _, node := range nodes {
		for _, d := range judged[node] {
			if float64(d.lag) <= bound {
				continue
			}
			v.add(Violation{Kind: "stale-delivery", Client: d.record.Client, Room: d.record.Room, Epoch: d.record.Epoch, Seq: d.record.Seq,
				ID: d.record.ID, AtMs: d.record.AtMs,
				Message: fmt.Sprintf("%s on %s got %s %d ms after it appeared at %.3fs, over %.0f ms, with no fault near its node",
					d.record.Client, node, d.record.ID, d.lag, float64(d.fromMs)/1000, bound)})
		}
	}
	detail := fmt.Sprintf("%d deliveries to settled receivers judged, max lag %d ms (bound %.0f ms); %d left out (fault windows and %.1fs after, catch-ups after a join, stalled receivers)",
		count, worst, bound, leftOut, float64(facts.RecoverWithinMs)/1000)
	return v.done(detail)
}

// lagged is one judged delivery and its lag behind the message's
// appearance.
type lagged struct {
	record Record
	fromMs int64
	lag    int64
}

// faultNear reports whether a fault that could touch node was active, or
// had healed less than RecoverWithinMs before, at any time in [fromMs, toMs].
func faultNear(facts Facts, node string, fromMs, toMs int64) bool {
	for _, f := range facts.Faults {
		if !f.reaches(node) {
			continue
		}
		end := f.ToMs + facts.RecoverWithinMs
		if !f.Healed() {
			end = toMs
		}
		if f.FromMs <= toMs && end >= fromMs {
			return true
		}
	}
	return false
}

// reaches reports whether a fault can slow node's deliveries: one aimed at
// node or at a link of it; or one aimed at no node in particular (Redis,
// the balancer, a flood, clients taken away), which reaches every node.
func (f FaultSpan) reaches(node string) bool {
	if f.Action == "flood" {
		return true // every node delivers the flood to its rooms' members
	}
	aimedAtNode := false
	for _, end := range strings.Split(f.Target, "-") {
		switch end {
		case node:
			return true
		case "", balancerMember, redisMember:
		default:
			aimedAtNode = true
		}
	}
	return !aimedAtNode
}
