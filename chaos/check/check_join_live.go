package check

import (
	"fmt"
	"slices"

	"chatlab/system/client"
)

// CheckJoinLive: a member gets every message after its joined head
// live, within DeliveryLagMaxMs.
const CheckJoinLive = "join-live"

// checkJoinLive holds every membership to what its joined frame promises:
// the node's head of the room was Head, so every message of the room after
// it (in the joined epoch) is live for this member, and must reach it
// within the delivery-lag bound of the later of its appearance (its ack
// or first delivery to anyone) and the joined. A node that starts following
// a room must subscribe before it reads the head: a message published
// between a head read too early and a subscribe that lands late reaches
// the node neither live nor by its catch-up, and the node's members wait
// for the room's next message (or the node's slow history poll) to fill
// the gap. delivery-lag leaves a join's first deliveries out as a catch-up;
// this check tells the replay (seqs up to Head) from the live messages
// after it.
//
// Left out: a member that stalled on its connection, messages from
// excluded senders (floods), and deliveries while a fault that reaches the
// member's node was active or healed less than RecoverWithinMs before,
// but for the faults that cannot hold back a membership begun after them
// (joinLiveFaults): an added delay on a link slows each frame by a bounded
// latency, far below the bound, and a balancer restart, a drain, a node
// killed or restarted end the connections they touch, so a membership
// that began after them is new and owed its live messages like any other.
func checkJoinLive(h History, facts Facts) Check {
	v := newVerdict(CheckJoinLive)
	bound := facts.DeliveryLagMaxMs
	appeared, excluded := appearances(h, facts.LatencyExcludedSenders)
	type membership struct {
		head     uint64
		epoch    string
		joinedMs int64
	}
	type member struct {
		node    string
		stalled bool
		rooms   map[string]membership
	}
	members := map[string]*member{}
	judged, leftOut := 0, 0
	worst := int64(0)
	for _, r := range h {
		m := members[r.Client]
		if m == nil {
			m = &member{rooms: map[string]membership{}}
			members[r.Client] = m
		}
		switch r.Kind {
		case client.KindWelcome:
			m.node, m.stalled = r.Node, false
			clear(m.rooms)
		case client.KindDisconnected:
			m.node = ""
			clear(m.rooms)
		case client.KindStalled:
			m.stalled = true
		case client.KindJoined:
			m.rooms[r.Room] = membership{head: r.Head, epoch: r.Epoch, joinedMs: r.AtMs}
		case client.KindLeft:
			delete(m.rooms, r.Room)
		case client.KindReset:
			if joined, ok := m.rooms[r.Room]; ok && r.Epoch != joined.epoch {
				delete(m.rooms, r.Room) // another history: nothing of the joined one is owed
			}
		case client.KindDelivered:
			joined, ok := m.rooms[r.Room]
			fromMs, known := appeared[r.ID]
			if !passedToApp(r.Event) || !ok || r.Seq <= joined.head || r.Epoch != joined.epoch || excluded[r.ID] {
				continue
			}
			fromMs = max(fromMs, joined.joinedMs)
			if !known || m.node == "" || m.stalled || joinFaultNear(facts, m.node, fromMs, r.AtMs) {
				leftOut++
				continue
			}
			judged++
			lag := r.AtMs - fromMs
			worst = max(worst, lag)
			if float64(lag) > bound {
				v.add(Violation{Kind: "late-after-join", Client: r.Client, Room: r.Room, Epoch: r.Epoch, Seq: r.Seq, ID: r.ID, AtMs: r.AtMs,
					Message: fmt.Sprintf("%s on %s got seq %d of %s %d ms after it was owed (joined at head %d at %.3fs), over %.0f ms, with no fault near its node",
						r.Client, m.node, r.Seq, r.Room, lag, joined.head, float64(joined.joinedMs)/1000, bound)})
			}
		}
	}
	return v.done(fmt.Sprintf("%d deliveries after a joined head judged, max %d ms (bound %.0f ms); %d left out (faults near the node, stalled members)",
		judged, worst, bound, leftOut))
}

// joinLiveFaults are the fault actions join-live does not leave out.
var joinLiveFaults = []string{"delay", "balancer-restart", "drain", "kill", "restart"}

// joinFaultNear is faultNear for the faults that can hold a membership's
// live messages back: all but joinLiveFaults.
func joinFaultNear(facts Facts, node string, fromMs, toMs int64) bool {
	var holding []FaultSpan
	for _, f := range facts.Faults {
		if !slices.Contains(joinLiveFaults, f.Action) {
			holding = append(holding, f)
		}
	}
	facts.Faults = holding
	return faultNear(facts, node, fromMs, toMs)
}
