package check

import (
	"fmt"
	"math"
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
// A delivery to a receiver settled in every way but the last is a
// catch-up after a fault. When the message appeared while such a fault was
// in force (or one caught it on its way), it must come within the same
// bound of the later of its appearance and the fault's heal (faults that
// follow one another extend it): once a fault heals, every message that
// exists reaches every settled member promptly. A node that fills the gap
// a fault left only when its slow history poll comes round leaves its
// members behind for up to a poll interval after the heal; with the
// scenario's room_poll_interval longer than the run, for good. A message that
// appeared after the heal, within RecoverWithinMs, is left out (the
// recovery check judges what follows), and so are the catch-ups of a fault
// still in force at the end of the run.
//
// Messages from excluded senders (floods) are left out.
func checkDeliveryLag(h History, facts Facts) Check {
	v := newVerdict(CheckDeliveryLag)
	bound := facts.DeliveryLagMaxMs
	appeared, excluded := appearances(h, facts.LatencyExcludedSenders)
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
	// catchUps are the deliveries held to a fault's recovery time;
	// catchUpWorst the latest of them relative to its deadline.
	var catchUps []lagged
	catchUpWorst := int64(math.MinInt64)
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
			case c.connectedMs > fromMs || joinedMs > fromMs:
				leftOut++
				continue
			case faultNear(facts, c.node, fromMs, r.AtMs):
				deadline, judged := catchUpDeadline(facts, c.node, fromMs, int64(bound))
				if !judged {
					leftOut++
					continue
				}
				catchUpWorst = max(catchUpWorst, r.AtMs-deadline)
				catchUps = append(catchUps, lagged{record: r, fromMs: fromMs, lag: lag, deadlineMs: deadline, node: c.node})
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
	for _, d := range catchUps {
		if d.record.AtMs <= d.deadlineMs {
			continue
		}
		v.add(Violation{Kind: "late-catch-up", Client: d.record.Client, Room: d.record.Room, Epoch: d.record.Epoch, Seq: d.record.Seq,
			ID: d.record.ID, AtMs: d.record.AtMs,
			Message: fmt.Sprintf("%s on %s got %s at %.3fs, %d ms after it appeared at %.3fs and %d ms past its catch-up deadline %.3fs (%.0f ms after the faults that reached its node healed)",
				d.record.Client, d.node, d.record.ID, float64(d.record.AtMs)/1000, d.lag, float64(d.fromMs)/1000,
				d.record.AtMs-d.deadlineMs, float64(d.deadlineMs)/1000, bound)})
	}
	detail := fmt.Sprintf("%d deliveries to settled receivers judged, max lag %d ms (bound %.0f ms)", count, worst, bound)
	if len(catchUps) > 0 {
		detail += fmt.Sprintf("; %d caught by a fault judged from its heal, the latest %d ms from its deadline",
			len(catchUps), catchUpWorst)
	}
	detail += fmt.Sprintf("; %d left out (sent within %.1fs after a heal, faults not healed, catch-ups after a join or reconnect, stalled receivers)",
		leftOut, float64(facts.RecoverWithinMs)/1000)
	return v.done(detail)
}

// catchUpDeadline is when a receiver on node must have a message that
// appeared at fromMs while a fault reached the node, or that a fault
// caught on its way: boundMs after the later of its appearance and the
// heal of each fault that reached the node from then until that deadline.
// judged is false when no fault was in force over that span (the message
// appeared within a fault's recovery time after its heal: the system may
// still be settling) or when one of them never healed.
func catchUpDeadline(facts Facts, node string, fromMs, boundMs int64) (deadlineMs int64, judged bool) {
	deadlineMs = fromMs + boundMs
	for changed := true; changed; {
		changed = false
		for _, f := range facts.Faults {
			if !f.reaches(node) || f.FromMs > deadlineMs || (f.Healed() && f.ToMs < fromMs) {
				continue
			}
			if !f.Healed() {
				return 0, false
			}
			judged = true
			if end := f.ToMs + boundMs; end > deadlineMs {
				deadlineMs, changed = end, true
			}
		}
	}
	return deadlineMs, judged
}

// lagged is one judged delivery and its lag behind the message's
// appearance.
type lagged struct {
	record Record
	fromMs int64
	lag    int64
	// deadlineMs and node: a catch-up's deadline, and the receiver's node.
	deadlineMs int64
	node       string
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

// appearances says when each message first existed (its ack to the sender
// or its first delivery to an application, whichever came first), and which
// messages come from excluded senders (floods): the lag checks judge a
// delivery from the first and leave the second out.
func appearances(h History, excludedSenders []string) (appeared map[string]int64, excluded map[string]bool) {
	appeared, excluded = map[string]int64{}, map[string]bool{}
	for _, r := range h {
		switch {
		case r.Kind == client.KindSent && hasAnyPrefix(r.Client, excludedSenders):
			excluded[r.ID] = true
		case r.Kind == client.KindAcked || passedToApp(r.Event):
			if at, seen := appeared[r.ID]; !seen || r.AtMs < at {
				appeared[r.ID] = r.AtMs
			}
		}
	}
	return appeared, excluded
}
