package check

import (
	"strconv"
	"strings"
	"testing"
)

func noDuplicates(b *historyBuilder, delivery string) (Check, int) {
	return checkNoDuplicates(indexHistory(b.h, delivery))
}

func TestNoDuplicatesPassesCleanHistory(t *testing.T) {
	check, duplicated := noDuplicates(cleanRoom(trio, 10), "")
	expectViolations(t, check, 0, "")
	if duplicated != 0 {
		t.Fatalf("duplicated %d", duplicated)
	}
}

func TestNoDuplicatesCountsDeliveryTheClientFlagged(t *testing.T) {
	// The node sent seq 2 twice; the client dropped the second one, but it
	// is a duplicate delivery all the same.
	b := cleanRoom(trio, 2).again("b", "r", 2, "b-2", "e1").
		message("r", "a-3", 3, "e1", trio...)
	check, duplicated := noDuplicates(b, "")
	expectViolations(t, check, 1, "duplicate")
	if v := check.Examples[0]; duplicated != 1 || v.Client != "b" || v.Seq != 2 || v.ID != "b-2" {
		t.Fatalf("duplicated %d, %+v", duplicated, v)
	}
}

func TestNoDuplicatesCatchesOneIDAtTwoSeqs(t *testing.T) {
	// The send was applied twice (its dedupe key expired before a retry):
	// the client's seq dedupe cannot see it.
	b := cleanRoom(trio, 2).
		message("r", "a-3", 3, "e1", trio...).
		deliver("a", "r", 4, "a-3", "e1").deliver("b", "r", 4, "a-3", "e1").deliver("c", "r", 4, "a-3", "e1")
	check, duplicated := noDuplicates(b, "")
	expectViolations(t, check, 3, "duplicate")
	if duplicated != 3 {
		t.Fatalf("duplicated %d", duplicated)
	}
}

func TestNoDuplicatesByIDInPubSub(t *testing.T) {
	b := newHistory()
	for _, name := range trio {
		b.connect(name).join(name, "r", 0, "")
	}
	b.message("r", "a-1", 0, "", trio...).deliver("c", "r", 0, "a-1", "")
	check, duplicated := noDuplicates(b, DeliveryPubSub)
	expectViolations(t, check, 1, "duplicate")
	if duplicated != 1 || check.Examples[0].Client != "c" {
		t.Fatalf("duplicated %d, %+v", duplicated, check.Examples)
	}
}

func TestNoDuplicatesLeavesLateDeliveriesToOrder(t *testing.T) {
	// A swap: seq 3 arrives after 4, so the client flags it Duplicate, but
	// it never had seq 3.
	b := cleanRoom(trio, 2).send("a", "r", "a-3").ack("a", "r", "a-3", 3).send("b", "r", "b-4").ack("b", "r", "b-4", 4).
		deliver("c", "r", 4, "b-4", "e1").again("c", "r", 3, "a-3", "e1")
	check, _ := noDuplicates(b, "")
	expectViolations(t, check, 0, "")
}

func TestNoDuplicatesAcrossEpochs(t *testing.T) {
	// a-3 was applied as seq 3 just before Redis lost its data; its ack was
	// lost, and the retry was applied again, as seq 1 of the new epoch: at
	// least once across a data loss, excused and counted apart.
	retried := func() *historyBuilder {
		b := cleanRoom(trio, 2).send("a", "r", "a-3")
		for _, name := range trio {
			b.deliver(name, "r", 3, "a-3", "e1")
		}
		for _, name := range trio {
			b.reset(name, "r", 1, "e2")
		}
		return b
	}
	b := retried().ack("a", "r", "a-3", 1)
	for _, name := range trio {
		b.deliver(name, "r", 1, "a-3", "e2")
	}
	check, duplicated := noDuplicates(b, "")
	expectViolations(t, check, 0, "")
	if duplicated != 0 || !strings.Contains(check.Detail, "3 excused: sends in flight when Redis lost its data") {
		t.Fatalf("duplicated %d, detail %q", duplicated, check.Detail)
	}
	// Each epoch's log on its own is fine.
	expectViolations(t, linearizable(b, ""), 0, "")

	// Acked before the loss, the sender had no reason to send it again: a
	// second application in the new epoch is a duplicate all the same.
	b = cleanRoom(trio, 2).send("a", "r", "a-3").ack("a", "r", "a-3", 3)
	for _, name := range trio {
		b.deliver(name, "r", 3, "a-3", "e1")
	}
	for _, name := range trio {
		b.reset(name, "r", 1, "e2")
	}
	for _, name := range trio {
		b.deliver(name, "r", 1, "a-3", "e2")
	}
	check, duplicated = noDuplicates(b, "")
	expectViolations(t, check, 3, "duplicate")
	if v := check.Examples[0]; duplicated != 3 || v.Epoch != "e2" || !strings.Contains(v.Message, "in epoch e1, before epoch e2") {
		t.Fatalf("duplicated %d, %+v", duplicated, v)
	}
	// Sent after the new epoch appeared, it cannot be a retry across the
	// loss.
	b = retried().send("b", "r", "b-9").ack("b", "r", "b-9", 1)
	for _, name := range trio {
		b.deliver(name, "r", 1, "b-9", "e2")
	}
	for _, name := range trio {
		b.deliver(name, "r", 2, "b-9", "e2")
	}
	check, _ = noDuplicates(b, "")
	expectViolations(t, check, 3, "duplicate")
}

// rejoinBehindStaleHead is c leaving room r after seq 6 and joining it
// again through a node whose head (4) lags: the node sends 5 and 6 again
// to the new membership, then 7 and 8, sent while c was away. What the
// client passes to the app of 5 and 6 the second time is passedAgain's.
func rejoinBehindStaleHead(passedAgain bool) *historyBuilder {
	b := cleanRoom(trio, 6).leave("c", "r").
		message("r", "a-7", 7, "e1", "a", "b").
		message("r", "b-8", 8, "e1", "a", "b").
		disconnect("c").connect("c").join("c", "r", 4, "e1")
	if passedAgain {
		b.deliver("c", "r", 5, "c-5", "e1").deliver("c", "r", 6, "a-6", "e1")
	} else {
		b.again("c", "r", 5, "c-5", "e1").again("c", "r", 6, "a-6", "e1")
	}
	return b.deliver("c", "r", 7, "a-7", "e1").deliver("c", "r", 8, "b-8", "e1")
}

// A rejoin through a node whose head lags what the app already had (found
// by chatlab hunt --seed 7, run 174): the client keeps the seqs it passed
// on before it left from the app, and no check counts that against the
// run: not as duplicates, not as seqs lost or skipped or discarded unseen.
// A client that passes them on again is caught.
func TestARejoinBehindAStaleHeadIsNoDuplicateWhenTheClientDropsIt(t *testing.T) {
	checks, _ := CheckHistory(rejoinBehindStaleHead(false).h, CheckOptions{Delivery: DeliveryRecover})
	for _, c := range checks {
		if !c.OK {
			t.Errorf("%s: %s %+v", c.Name, c.Detail, c.Examples)
		}
	}
	check, duplicated := noDuplicates(rejoinBehindStaleHead(true), DeliveryRecover)
	expectViolations(t, check, 2, "duplicate")
	if duplicated != 2 || !strings.Contains(check.Examples[0].Message, "c got seq 5") {
		t.Fatalf("duplicated %d: %+v", duplicated, check.Examples)
	}
}

// A reset that takes the room back within its epoch (history went back:
// a promoted replica without its master's last writes) is followed by the
// node sending the room again. A client that drops what it had passed on
// is fine, excused and counted apart; one that passes it on again, or a
// resend after a reset that did not go back, is a duplicate.
func TestNoDuplicatesAfterAResetThatWentBack(t *testing.T) {
	replayed := func(from uint64, dropped bool) *historyBuilder {
		b := cleanRoom(trio, 4).reset("b", "r", from, "e1")
		for seq := from; seq <= 4; seq++ {
			id := trio[int(seq)%len(trio)] + "-" + strconv.Itoa(int(seq))
			if dropped {
				b.again("b", "r", seq, id, "e1")
			} else {
				b.deliver("b", "r", seq, id, "e1")
			}
		}
		return b
	}
	check, duplicated := noDuplicates(replayed(1, true), "")
	expectViolations(t, check, 0, "")
	if duplicated != 0 || !strings.Contains(check.Detail, "4 excused: sent again after a reset that took the room back") {
		t.Fatalf("duplicated %d, detail %q", duplicated, check.Detail)
	}
	check, duplicated = noDuplicates(replayed(1, false), "")
	expectViolations(t, check, 4, "duplicate")
	if duplicated != 4 || !strings.Contains(check.Detail, "4 passed to the app") {
		t.Fatalf("passed on again: duplicated %d, detail %q", duplicated, check.Detail)
	}
	// From 5 the reset skips nothing the client had: the node had no cause
	// to send seq 4 again.
	b := cleanRoom(trio, 4).reset("b", "r", 5, "e1").again("b", "r", 4, trio[1]+"-4", "e1")
	check, duplicated = noDuplicates(b, "")
	expectViolations(t, check, 1, "duplicate")
	if duplicated != 1 {
		t.Fatalf("after a reset that did not go back: duplicated %d", duplicated)
	}
}
