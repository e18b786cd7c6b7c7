package check

import (
	"strings"
	"testing"
)

func clientDedupe(b *historyBuilder, delivery string) Check {
	return checkClientDedupe(indexHistory(b.h, delivery))
}

func TestClientDedupePassesCleanHistory(t *testing.T) {
	// Discards of seqs already passed on (a replay overlapping what c had),
	// of seqs at or below the joined head, and below a reset are all right.
	b := cleanRoom(trio, 3).again("c", "r", 3, "b-3", "e1").
		connect("d").join("d", "r", 3, "e1").again("d", "r", 2, "a-2", "e1").
		reset("d", "r", 5, "e1").again("d", "r", 4, "x-4", "e1").
		message("r", "a-5", 5, "e1", "a", "b", "c", "d")
	check := clientDedupe(b, "")
	expectViolations(t, check, 0, "")
	if !strings.Contains(check.Detail, "3 frames discarded as duplicates: 1 already passed to the application, 2 before") {
		t.Fatalf("detail %q", check.Detail)
	}
}

// The client swallowed seq 3 as a duplicate although it never had it: the
// application never saw a-3, which every other check would take for
// delivered if it counted what arrived on the wire.
func TestClientDedupeFlagsADiscardOfAMessageNeverPassedOn(t *testing.T) {
	b := cleanRoom(trio, 2).send("a", "r", "a-3").ack("a", "r", "a-3", 3).
		deliver("a", "r", 3, "a-3", "e1").deliver("b", "r", 3, "a-3", "e1").again("c", "r", 3, "a-3", "e1").
		message("r", "b-4", 4, "e1", trio...)
	check := clientDedupe(b, "")
	expectViolations(t, check, 1, "discarded_unseen")
	if v := check.Examples[0]; v.Client != "c" || v.Seq != 3 || v.ID != "a-3" {
		t.Fatalf("%+v", v)
	}
	// What the application got is judged too: c lost seq 3.
	loss, lost, _ := noLoss(b, "")
	expectViolations(t, loss, 1, "lost")
	if lost != 1 || loss.Examples[0].Client != "c" {
		t.Fatalf("lost %d: %+v", lost, loss.Examples)
	}
	order, _ := order(b, "")
	expectViolations(t, order, 1, "gap")
	duplicates, duplicated := noDuplicates(b, "")
	expectViolations(t, duplicates, 0, "")
	if duplicated != 0 {
		t.Fatalf("duplicated %d", duplicated)
	}
}

// A discard in a new epoch is not excused by the seqs of the old one.
func TestClientDedupeFlagsADiscardAcrossEpochs(t *testing.T) {
	b := cleanRoom(trio, 3).
		reset("a", "r", 1, "e2").reset("b", "r", 1, "e2").
		send("a", "r", "a-1").ack("a", "r", "a-1", 1).
		deliver("a", "r", 1, "a-1", "e2").deliver("b", "r", 1, "a-1", "e2").again("c", "r", 1, "a-1", "e2")
	expectViolations(t, clientDedupe(b, ""), 1, "discarded_unseen")
}

func TestClientDedupeIsNotApplicableInPubSub(t *testing.T) {
	b := newHistory()
	for _, name := range trio {
		b.connect(name).join(name, "r", 0, "")
	}
	b.message("r", "a-1", 0, "", trio...)
	check := clientDedupe(b, DeliveryPubSub)
	expectViolations(t, check, 0, "")
	if !strings.HasPrefix(check.Detail, "not applicable") {
		t.Fatalf("detail %q", check.Detail)
	}
}
