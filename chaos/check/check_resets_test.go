package check

import (
	"strconv"
	"strings"
	"testing"
)

func resets(b *historyBuilder, historyLenMax int) Check {
	return checkResets(indexHistory(b.h, DeliveryRecover), historyLenMax)
}

// away takes c offline while a and b get seqs 3..last, then rejoins it with
// since 2, as the client does.
func away(last uint64) *historyBuilder {
	return reconnect(cleanRoom(trio, 2), 3, last)
}

func TestResetsJustifiedByRetention(t *testing.T) {
	// The stream keeps 4: at seq 10 it holds 7..10, so 3..6 are gone.
	b := away(10).reset("c", "r", 7, "e1")
	check := resets(b, 4)
	expectViolations(t, check, 0, "")
	if !strings.Contains(check.Detail, "1 by retention (stream retains 4 per room)") {
		t.Fatalf("detail %q", check.Detail)
	}
}

// The node answers a resume with a reset while the stream still holds the
// seqs it skips: every other check excuses them.
func TestResetsFlagAResetTheRetainedHistoryDoesNotExplain(t *testing.T) {
	b := away(10).reset("c", "r", 9, "e1").deliver("c", "r", 9, "a-9", "e1").deliver("c", "r", 10, "a-10", "e1")
	check := resets(b, 4)
	expectViolations(t, check, 1, "unjustified_reset")
	if v := check.Examples[0]; v.Client != "c" || v.Seq != 9 || !strings.Contains(v.Message, "skipping seqs 3..8") {
		t.Fatalf("%+v", v)
	}
	for _, name := range []string{CheckNoLoss, CheckResume} {
		checks, _ := CheckHistory(b.h, CheckOptions{Delivery: DeliveryRecover, HistoryLenMax: 4})
		for _, c := range checks {
			if c.Name == name && !c.OK {
				t.Fatalf("%s flagged what only the resets check should: %+v", name, c)
			}
		}
	}
	expectViolations(t, resets(b, 0), 1, "unjustified_reset")
}

// The head bound counts seqs whose send began before the reset, even when
// they are delivered later: the node may have fetched after they landed.
func TestResetsCountSeqsSentBeforeTheReset(t *testing.T) {
	b := away(6).send("a", "r", "a-7").send("b", "r", "b-8").
		reset("c", "r", 5, "e1").
		ack("a", "r", "a-7", 7).ack("b", "r", "b-8", 8)
	expectViolations(t, resets(b, 4), 0, "")
}

func TestResetsJustifiedByAnEpochChange(t *testing.T) {
	b := cleanRoom(trio, 3).
		reset("a", "r", 1, "e2").reset("b", "r", 1, "e2").reset("c", "r", 1, "e2").
		message("r", "a-1", 1, "e2", trio...)
	check := resets(b, 100)
	expectViolations(t, check, 0, "")
	if !strings.Contains(check.Detail, "3 resets: 3 by an epoch change") {
		t.Fatalf("detail %q", check.Detail)
	}
}

func TestResetsFlagAResetBackToAnOlderEpoch(t *testing.T) {
	b := cleanRoom(trio, 3).
		reset("a", "r", 1, "e2").message("r", "a-1", 1, "e2", "a").
		reset("a", "r", 1, "e1")
	expectViolations(t, resets(b, 100), 1, "reset_to_older_epoch")
}

func TestResetsThatSkipNothingPass(t *testing.T) {
	b := away(4).reset("c", "r", 3, "e1").deliver("c", "r", 3, "a-3", "e1").deliver("c", "r", 4, "a-4", "e1")
	check := resets(b, 0)
	expectViolations(t, check, 0, "")
	if !strings.Contains(check.Detail, "1 skipping nothing") {
		t.Fatalf("detail %q", check.Detail)
	}
}

func TestResetsAreNotApplicableInPubSub(t *testing.T) {
	check := checkResets(indexHistory(cleanRoom(trio, 2).h, DeliveryPubSub), 0)
	expectViolations(t, check, 0, "")
	if !strings.HasPrefix(check.Detail, "not applicable") {
		t.Fatalf("detail %q", check.Detail)
	}
}

// A send that began long before the reset (its client was away, holding
// it) lands after it with a high seq: it must not stretch the bound. The
// first send after the reset gets seq 11, so the head was at most 10 and
// the stream still held 7..10.
func TestResetsBoundTheHeadBySendsAfterTheReset(t *testing.T) {
	b := newHistory().connect("d").join("d", "r", 0, "e1").send("d", "r", "d-1")
	for _, name := range trio {
		b.connect(name).join(name, "r", 0, "e1")
	}
	for i := 1; i <= 2; i++ {
		b.message("r", "a-"+strconv.Itoa(i), uint64(i), "e1", "a", "b", "c", "d")
	}
	reconnect(b, 3, 10).reset("c", "r", 9, "e1").
		message("r", "a-11", 11, "e1", trio...).
		ack("d", "r", "d-1", 12).deliver("a", "r", 12, "d-1", "e1").deliver("b", "r", 12, "d-1", "e1").deliver("c", "r", 12, "d-1", "e1")
	expectViolations(t, resets(b, 4), 1, "unjustified_reset")
}
