package check

import (
	"strconv"
	"strings"
	"testing"
)

func resume(b *historyBuilder, delivery string) Check {
	return checkResume(indexHistory(b.h, delivery))
}

// reconnect drops c, lets a and b get seqs first..last meanwhile, and
// rejoins c.
func reconnect(b *historyBuilder, first, last uint64) *historyBuilder {
	b.disconnect("c")
	for seq := first; seq <= last; seq++ {
		b.message("r", "a-"+strconv.FormatUint(seq, 10), seq, "e1", "a", "b")
	}
	return b.connect("c").join("c", "r", last, "e1")
}

func TestResumePassesWhenTheReplayContinues(t *testing.T) {
	b := reconnect(cleanRoom(trio, 2), 3, 4).
		deliver("c", "r", 3, "a-3", "e1").deliver("c", "r", 4, "a-4", "e1").
		message("r", "b-5", 5, "e1", trio...)
	check := resume(b, "")
	expectViolations(t, check, 0, "")
	if !strings.HasPrefix(check.Detail, "1 resumes") {
		t.Fatalf("detail %q", check.Detail)
	}
}

func TestResumeFlagsSkippedSeqs(t *testing.T) {
	// The node ignored since: c goes on from the head.
	b := reconnect(cleanRoom(trio, 2), 3, 4).
		message("r", "b-5", 5, "e1", trio...)
	check := resume(b, "")
	expectViolations(t, check, 1, "resume_skipped")
	if v := check.Examples[0]; v.Client != "c" || v.Seq != 5 || !strings.Contains(v.Message, "seqs 3..4") {
		t.Fatalf("%+v", v)
	}
}

func TestResumeAcceptsAResetThatSaysWhy(t *testing.T) {
	b := reconnect(cleanRoom(trio, 2), 3, 4).
		reset("c", "r", 5, "e1").
		message("r", "b-5", 5, "e1", trio...)
	expectViolations(t, resume(b, ""), 0, "")
}

func TestResumeSkipsSeqsSeenBeforeTheReconnect(t *testing.T) {
	b := reconnect(cleanRoom(trio, 2), 3, 3).
		again("c", "r", 2, "b-2", "e1").deliver("c", "r", 3, "a-3", "e1")
	expectViolations(t, resume(b, ""), 0, "")
}

func TestResumeIntoANewEpoch(t *testing.T) {
	rejoin := func() *historyBuilder {
		return cleanRoom(trio, 2).disconnect("c").
			reset("a", "r", 1, "e2").reset("b", "r", 1, "e2").
			message("r", "a-3", 1, "e2", "a", "b").
			connect("c").join("c", "r", 1, "e2")
	}
	b := rejoin().reset("c", "r", 1, "e2").deliver("c", "r", 1, "a-3", "e2")
	expectViolations(t, resume(b, ""), 0, "")

	b = rejoin().deliver("c", "r", 1, "a-3", "e2")
	expectViolations(t, resume(b, ""), 1, "resume_epoch")
}

func TestResumeIsNotApplicableInPubSub(t *testing.T) {
	b := newHistory().connect("a").join("a", "r", 0, "").message("r", "a-1", 0, "", "a")
	check := resume(b, "")
	expectViolations(t, check, 0, "")
	if !strings.HasPrefix(check.Detail, "not applicable") {
		t.Fatalf("detail %q", check.Detail)
	}
}
