package check

import (
	"testing"

	"chatlab/system/client"
)

func order(b *historyBuilder, delivery string) (Check, int) {
	return checkOrder(indexHistory(b.h, delivery))
}

func TestOrderPassesCleanHistory(t *testing.T) {
	check, reordered := order(cleanRoom(trio, 10), "")
	expectViolations(t, check, 0, "")
	if reordered != 0 {
		t.Fatalf("reordered %d", reordered)
	}
}

func TestOrderFlagsClientsSeeingDifferentOrders(t *testing.T) {
	b := newHistory()
	for _, name := range []string{"a", "b"} {
		b.connect(name).join(name, "r", 0, "e1")
	}
	b.send("a", "r", "a-1").send("b", "r", "b-2").
		deliver("a", "r", 1, "a-1", "e1").deliver("a", "r", 2, "b-2", "e1").
		deliver("b", "r", 1, "b-2", "e1").deliver("b", "r", 2, "a-1", "e1")
	check, reordered := order(b, "")
	expectViolations(t, check, 2, "different_order")
	if reordered != 2 || check.Examples[0].Client != "b" {
		t.Fatalf("reordered %d, %+v", reordered, check.Examples)
	}
}

func TestOrderFlagsGap(t *testing.T) {
	b := cleanRoom(trio, 2).
		message("r", "a-3", 3, "e1", "a", "b").
		message("r", "b-4", 4, "e1", trio...).
		message("r", "c-5", 5, "e1", trio...)
	check, reordered := order(b, "")
	expectViolations(t, check, 1, "gap")
	if v := check.Examples[0]; reordered != 0 || v.Client != "c" || v.Seq != 3 {
		t.Fatalf("reordered %d, %+v", reordered, v)
	}
}

func TestOrderFlagsGapAfterJoinedHead(t *testing.T) {
	b := cleanRoom([]string{"a", "b"}, 2).connect("c").join("c", "r", 2, "e1").
		message("r", "a-3", 3, "e1", "a", "b").
		message("r", "b-4", 4, "e1", "a", "b", "c")
	check, _ := order(b, "")
	expectViolations(t, check, 1, "gap")
}

// swapped is a room where c receives seq 4 before seq 3; late3 is how c's
// client takes seq 3 (passed on, or discarded as at or below the last seq).
func swapped(late3 func(b *historyBuilder) *historyBuilder) *historyBuilder {
	b := cleanRoom(trio, 2).
		send("a", "r", "a-3").ack("a", "r", "a-3", 3).send("b", "r", "b-4").ack("b", "r", "b-4", 4).
		deliver("a", "r", 3, "a-3", "e1").deliver("a", "r", 4, "b-4", "e1").
		deliver("b", "r", 3, "a-3", "e1").deliver("b", "r", 4, "b-4", "e1").
		deliver("c", "r", 4, "b-4", "e1")
	return late3(b).message("r", "c-5", 5, "e1", trio...)
}

func TestOrderFlagsSwap(t *testing.T) {
	b := swapped(func(b *historyBuilder) *historyBuilder { return b.deliver("c", "r", 3, "a-3", "e1") })
	check, reordered := order(b, "")
	expectViolations(t, check, 1, "out_of_order")
	if v := check.Examples[0]; reordered != 1 || v.Client != "c" || v.Seq != 3 {
		t.Fatalf("reordered %d, %+v", reordered, v)
	}
}

// A late seq the client discards never reaches the application: what the
// application saw has a gap there.
func TestOrderFlagsSwapTheClientDiscardedAsGap(t *testing.T) {
	b := swapped(func(b *historyBuilder) *historyBuilder { return b.again("c", "r", 3, "a-3", "e1") })
	check, _ := order(b, "")
	expectViolations(t, check, 1, "gap")
	if v := check.Examples[0]; v.Client != "c" || v.Seq != 3 {
		t.Fatalf("%+v", v)
	}
}

func TestOrderAcceptsGapAResetExplains(t *testing.T) {
	b := cleanRoom(trio, 1).
		message("r", "b-2", 2, "e1", "a", "b").
		reset("c", "r", 3, "e1").
		message("r", "c-3", 3, "e1", trio...)
	check, _ := order(b, "")
	expectViolations(t, check, 0, "")
}

func TestOrderFlagsEpochChangeWithoutReset(t *testing.T) {
	b := cleanRoom(trio, 2).
		reset("a", "r", 1, "e2").reset("b", "r", 1, "e2").
		message("r", "a-3", 1, "e2", trio...)
	check, _ := order(b, "")
	expectViolations(t, check, 1, "epoch_without_reset")
	if check.Examples[0].Client != "c" {
		t.Fatalf("%+v", check.Examples)
	}
}

func TestOrderLeavesTheJumpAtAReconnectToResume(t *testing.T) {
	b := cleanRoom(trio, 2).disconnect("c").
		message("r", "a-3", 3, "e1", "a", "b").
		connect("c").join("c", "r", 3, "e1").
		message("r", "b-4", 4, "e1", trio...)
	check, _ := order(b, "")
	expectViolations(t, check, 0, "")
}

func TestOrderComparesPubSubOrdersByID(t *testing.T) {
	b := newHistory()
	for _, name := range trio {
		b.connect(name).join(name, "r", 0, "")
	}
	for _, id := range []string{"a-1", "b-2", "c-3", "a-4"} {
		b.send(senderOf(id), "r", id).ack(senderOf(id), "r", id, 0)
	}
	for _, id := range []string{"a-1", "b-2", "c-3", "a-4"} {
		b.deliver("a", "r", 0, id, "").deliver("b", "r", 0, id, "")
	}
	for _, id := range []string{"a-1", "c-3", "b-2", "a-4"} {
		b.deliver("c", "r", 0, id, "")
	}
	check, reordered := order(b, DeliveryPubSub)
	expectViolations(t, check, 1, "out_of_order")
	if v := check.Examples[0]; reordered != 1 || v.Client != "c" {
		t.Fatalf("reordered %d, %+v", reordered, v)
	}
}

func TestLongestIncreasing(t *testing.T) {
	keep := longestIncreasing([]int{0, 2, 1, 3, 5, 4, 6})
	kept := 0
	for _, k := range keep {
		if k {
			kept++
		}
	}
	if kept != 5 || !keep[0] || !keep[3] || !keep[6] {
		t.Fatalf("keep %v", keep)
	}
	if len(longestIncreasing(nil)) != 0 {
		t.Fatal("empty input")
	}
}

// Two sends of one sender, in flight together, each sent once: the later
// one took the lower seq (a runtime that ran a sender's publishes
// concurrently). Every client saw the log in one order, so only the
// sender's order shows it.
func TestOrderFlagsASenderWhoseSendsTookSeqsOutOfOrder(t *testing.T) {
	b := cleanRoom(trio, 2).send("a", "r", "a-3").send("a", "r", "a-4").
		ack("a", "r", "a-4", 3).ack("a", "r", "a-3", 4)
	for _, name := range trio {
		b.deliver(name, "r", 3, "a-4", "e1").deliver(name, "r", 4, "a-3", "e1")
	}
	check, _ := order(b, "")
	expectViolations(t, check, 1, "sender_reordered")
	if v := check.Examples[0]; v.ID != "a-4" || v.Seq != 3 {
		t.Fatalf("%+v", v)
	}
}

// A send that was refused and resent keeps its place in its sender's
// order: the send made after it must not take a seq ahead of it (the node
// holds the room and fails the publishes behind a failed one; the client
// resends in order). This is quiet-rooms sim seed 181 before the fix:
// c019-1 failed, c019-2 went out behind it and took seq 1.
func TestOrderHoldsAResentSendToItsSendersOrder(t *testing.T) {
	b := cleanRoom(trio, 2).send("a", "r", "a-3").send("a", "r", "a-4").
		ack("a", "r", "a-4", 3).event("a", client.Event{Kind: client.KindResent, Room: "r", ID: "a-3"}).ack("a", "r", "a-3", 4)
	for _, name := range trio {
		b.deliver(name, "r", 3, "a-4", "e1").deliver(name, "r", 4, "a-3", "e1")
	}
	check, _ := order(b, "")
	expectViolations(t, check, 1, "sender_reordered")
	if v := check.Examples[0]; v.ID != "a-4" || v.Seq != 3 {
		t.Fatalf("%+v", v)
	}
}

// A send given up is not held to its place: the sends after it land as
// they may.
func TestOrderLetsASendGivenUpBeOvertaken(t *testing.T) {
	b := cleanRoom(trio, 2).send("a", "r", "a-3").send("a", "r", "a-4").
		ack("a", "r", "a-4", 3).event("a", client.Event{Kind: client.KindSendFailed, Room: "r", ID: "a-3", Message: "no ack after 5 attempts"})
	for _, name := range trio {
		b.deliver(name, "r", 3, "a-4", "e1")
	}
	check, _ := order(b, "")
	expectViolations(t, check, 0, "")
}
