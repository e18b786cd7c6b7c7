package check

import (
	"strings"
	"testing"
)

func noLoss(b *historyBuilder, delivery string) (Check, int, int) {
	return checkNoLoss(indexHistory(b.h, delivery))
}

var trio = []string{"a", "b", "c"}

func TestNoLossPassesCleanHistory(t *testing.T) {
	check, lost, excused := noLoss(cleanRoom(trio, 10), "")
	expectViolations(t, check, 0, "")
	if lost != 0 || excused != 0 || !strings.Contains(check.Detail, "expected 30 deliveries") {
		t.Fatalf("lost %d excused %d: %s", lost, excused, check.Detail)
	}
}

func TestNoLossFlagsLostAckedMessage(t *testing.T) {
	b := cleanRoom(trio, 3).
		message("r", "a-4", 4, "e1", "a", "b"). // c never gets seq 4
		message("r", "b-5", 5, "e1", "a", "b", "c")
	check, lost, _ := noLoss(b, "")
	expectViolations(t, check, 1, "lost")
	if v := check.Examples[0]; lost != 1 || v.Client != "c" || v.Seq != 4 || v.ID != "a-4" || v.AtMs == 0 {
		t.Fatalf("lost %d, violation %+v", lost, v)
	}
}

func TestNoLossFlagsSeqNobodyGot(t *testing.T) {
	// Seq 4's send timed out, yet seq 5 shows it was applied: every member
	// should have got it.
	b := cleanRoom(trio, 3).send("a", "r", "a-4").sendFailed("a", "r", "a-4").
		message("r", "b-5", 5, "e1", "a", "b", "c")
	check, lost, _ := noLoss(b, "")
	expectViolations(t, check, 3, "lost")
	if lost != 3 || check.Examples[0].Seq != 4 || check.Examples[0].ID != "" {
		t.Fatalf("lost %d: %+v", lost, check.Examples)
	}
}

func TestNoLossExcusesSeqsAResetDeclaredGone(t *testing.T) {
	b := cleanRoom(trio, 2).
		message("r", "a-3", 3, "e1", "a", "b").
		message("r", "b-4", 4, "e1", "a", "b").
		reset("c", "r", 5, "e1").
		message("r", "c-5", 5, "e1", "a", "b", "c")
	check, lost, excused := noLoss(b, "")
	expectViolations(t, check, 0, "")
	if lost != 0 || excused != 2 {
		t.Fatalf("lost %d excused %d, want 0 and 2", lost, excused)
	}
}

func TestNoLossFlagsGapNoResetExplains(t *testing.T) {
	b := cleanRoom(trio, 2).
		message("r", "a-3", 3, "e1", "a", "b").
		message("r", "b-4", 4, "e1", "a", "b").
		message("r", "c-5", 5, "e1", "a", "b", "c")
	check, lost, excused := noLoss(b, "")
	expectViolations(t, check, 2, "lost")
	if lost != 2 || excused != 0 {
		t.Fatalf("lost %d excused %d, want 2 and 0", lost, excused)
	}
}

func TestNoLossNewEpochResetExcusesTheOldEpoch(t *testing.T) {
	// Redis lost its data after seq 3 of e1; c had only seq 1 by then.
	b := cleanRoom(trio, 1).
		message("r", "b-2", 2, "e1", "a", "b").
		message("r", "c-3", 3, "e1", "a", "b").
		reset("a", "r", 1, "e2").reset("b", "r", 1, "e2").reset("c", "r", 1, "e2").
		message("r", "a-4", 1, "e2", "a", "b", "c").
		message("r", "b-5", 2, "e2", "a", "b", "c")
	check, lost, excused := noLoss(b, "")
	expectViolations(t, check, 0, "")
	if lost != 0 || excused != 2 {
		t.Fatalf("lost %d excused %d, want 0 and 2", lost, excused)
	}
}

func TestNoLossNewEpochWithoutResetIsLoss(t *testing.T) {
	b := cleanRoom(trio, 1).
		message("r", "b-2", 2, "e1", "a", "b").
		message("r", "a-3", 1, "e2", "a", "b", "c")
	check, _, _ := noLoss(b, "")
	expectViolations(t, check, 1, "lost")
	if v := check.Examples[0]; v.Client != "c" || v.Epoch != "e1" || v.Seq != 2 {
		t.Fatalf("violation %+v", v)
	}
}

func TestNoLossWindowStartsAtJoinedHead(t *testing.T) {
	b := cleanRoom([]string{"a", "b"}, 5).
		connect("late").join("late", "r", 5, "e1").
		message("r", "a-6", 6, "e1", "a", "b", "late")
	check, _, _ := noLoss(b, "")
	expectViolations(t, check, 0, "")
}

func TestNoLossLeftWindowExpectsOnlyWhatItSawUpTo(t *testing.T) {
	b := cleanRoom(trio, 3).leave("c", "r").
		message("r", "a-4", 4, "e1", "a", "b")
	check, _, _ := noLoss(b, "")
	expectViolations(t, check, 0, "")

	// A gap before the left is still a loss, and a rejoin starts a new
	// window at its head.
	b = cleanRoom(trio, 1).
		message("r", "b-2", 2, "e1", "a", "b").
		message("r", "c-3", 3, "e1", "a", "b", "c").
		leave("c", "r").
		message("r", "a-4", 4, "e1", "a", "b").
		join("c", "r", 4, "e1").
		message("r", "b-5", 5, "e1", "a", "b", "c")
	check, _, _ = noLoss(b, "")
	expectViolations(t, check, 1, "lost")
	if v := check.Examples[0]; v.Client != "c" || v.Seq != 2 {
		t.Fatalf("violation %+v", v)
	}
}

func TestNoLossReconnectKeepsMembership(t *testing.T) {
	b := cleanRoom(trio, 2).disconnect("c").
		message("r", "a-3", 3, "e1", "a", "b").
		connect("c").join("c", "r", 3, "e1") // resumed, but seq 3 never replayed
	check, _, _ := noLoss(b, "")
	expectViolations(t, check, 1, "lost")
	if v := check.Examples[0]; v.Client != "c" || v.Seq != 3 {
		t.Fatalf("violation %+v", v)
	}
}

func TestNoLossPubSubFlagsLossByID(t *testing.T) {
	b := newHistory()
	for _, name := range trio {
		b.connect(name).join(name, "r", 0, "")
	}
	b.message("r", "a-1", 0, "", "a", "b", "c").
		message("r", "b-2", 0, "", "a", "b"). // c missed it
		message("r", "c-3", 0, "", "a", "b", "c")
	for _, delivery := range []string{"", DeliveryPubSub} {
		check, lost, _ := noLoss(b, delivery)
		expectViolations(t, check, 1, "lost")
		if v := check.Examples[0]; lost != 1 || v.Client != "c" || v.ID != "b-2" || !strings.Contains(check.Detail, "pubsub") {
			t.Fatalf("delivery %q: lost %d, %+v, %s", delivery, lost, v, check.Detail)
		}
	}
}

func TestNoLossPubSubExpectsOnlyMessagesSentAfterJoining(t *testing.T) {
	b := newHistory().connect("a").join("a", "r", 0, "").
		message("r", "a-1", 0, "", "a").
		connect("b").join("b", "r", 0, "").
		message("r", "a-2", 0, "", "a", "b")
	check, _, _ := noLoss(b, DeliveryPubSub)
	expectViolations(t, check, 0, "")
}
