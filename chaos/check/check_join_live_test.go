package check

import (
	"strings"
	"testing"
)

func joinLive(b *historyBuilder, facts Facts) Check {
	return checkJoinLive(b.h, facts.withDefaults())
}

// joinAfter is a room with two messages, then c's connection to a node that
// starts following the room: joined at head 2 at 10 s, then seq 3, sent by
// a at 10.1 s, reaches a at once and c at toCMs.
func joinAfter(toCMs int64) *historyBuilder {
	b := cleanRoom([]string{"a", "b"}, 2)
	b.at(10000).connect("c").join("c", "r", 2, "e1")
	b.at(10100).send("a", "r", "a-3").ack("a", "r", "a-3", 3).deliver("a", "r", 3, "a-3", "e1").deliver("b", "r", 3, "a-3", "e1")
	return b.at(toCMs).deliver("c", "r", 3, "a-3", "e1")
}

func TestJoinLivePassesLiveMessagesAfterTheJoinedHead(t *testing.T) {
	c := joinLive(joinAfter(10150), Facts{})
	expectViolations(t, c, 0, "")
	if !strings.Contains(c.Detail, "max 49 ms") {
		t.Fatalf("detail %q", c.Detail)
	}
}

// A node that read the room's head before its subscribe was in place
// missed seq 3 on pub/sub: c gets it only when the room's next message
// makes the node fetch the gap, seconds later. delivery-lag takes that as
// a catch-up after the join; join-live knows seq 3 was after the head.
func TestJoinLiveFlagsAMessageAfterTheHeadLeftForLater(t *testing.T) {
	b := joinAfter(16000)
	c := joinLive(b, Facts{})
	expectViolations(t, c, 1, "late-after-join")
	if v := c.Examples[0]; v.Client != "c" || v.Seq != 3 || !strings.Contains(v.Message, "5899 ms after it was owed (joined at head 2") {
		t.Fatalf("%+v", c.Examples[0])
	}
	lag := checkDeliveryLag(b.h, Facts{}.withDefaults())
	expectViolations(t, lag, 0, "")
}

// A replay up to the joined head is a catch-up, and a fault that holds the
// node's deliveries back excuses the wait; a delay on a link, a balancer
// restart or a drain do not.
func TestJoinLiveLeavesOutReplaysAndHoldingFaults(t *testing.T) {
	b := cleanRoom([]string{"a", "b"}, 2)
	b.at(10000).connect("c").join("c", "r", 2, "e1").at(18000).deliver("c", "r", 1, "b-1", "e1").deliver("c", "r", 2, "a-2", "e1")
	expectViolations(t, joinLive(b, Facts{}), 0, "")

	paused := Facts{Faults: []FaultSpan{{Action: "pause", Target: "n1", FromMs: 10050, ToMs: 15000}}}
	expectViolations(t, joinLive(joinAfter(16000), paused), 0, "")
	for _, action := range []string{"delay", "balancer-restart", "drain"} {
		target := map[string]string{"delay": "n1-redis", "balancer-restart": "balancer", "drain": "n1"}[action]
		facts := Facts{Faults: []FaultSpan{{Action: action, Target: target, FromMs: 9000, ToMs: 15000}}}
		expectViolations(t, joinLive(joinAfter(16000), facts), 1, "late-after-join")
	}
}
