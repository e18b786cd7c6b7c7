package check

import (
	"strings"
	"testing"

	"chatlab/system/client"
	"chatlab/system/protocol"
)

func acks(b *historyBuilder, delivery string) Check {
	return checkAcks(indexHistory(b.h, delivery))
}

func TestAcksPassCleanHistory(t *testing.T) {
	check := acks(cleanRoom(trio, 10), "")
	expectViolations(t, check, 0, "")
	if !strings.HasPrefix(check.Detail, "10 acked sends, 30 deliveries owed") {
		t.Fatalf("detail %q", check.Detail)
	}
}

// A node acks a send it never published, with a seq: the seq goes to the
// next message, so no-loss, judging seq by seq, sees a full log.
func TestAcksFlagAnAckWhoseSeqCarriesAnotherMessage(t *testing.T) {
	b := cleanRoom(trio, 2).
		send("a", "r", "a-3").ack("a", "r", "a-3", 3).
		message("r", "b-3", 3, "e1", trio...)
	check := acks(b, "")
	expectViolations(t, check, 1, "ack_seq_taken")
	if v := check.Examples[0]; v.ID != "a-3" || v.Seq != 3 {
		t.Fatalf("%+v", v)
	}
	loss, _, _ := noLoss(b, "")
	expectViolations(t, loss, 0, "") // the blind spot this check closes
}

func TestAcksFlagAnAckWithoutSeq(t *testing.T) {
	b := cleanRoom(trio, 2).send("a", "r", "a-3").ack("a", "r", "a-3", 0)
	expectViolations(t, acks(b, DeliveryRecover), 1, "ack_without_seq")
}

func TestAcksFlagAnAckAtAnotherSeqThanTheDelivery(t *testing.T) {
	b := cleanRoom(trio, 2).send("a", "r", "a-3").ack("a", "r", "a-3", 4).
		deliver("a", "r", 3, "a-3", "e1").deliver("b", "r", 3, "a-3", "e1").deliver("c", "r", 3, "a-3", "e1")
	check := acks(b, "")
	expectViolations(t, check, 1, "ack_seq_mismatch")
	if !strings.Contains(check.Examples[0].Message, "acked as seq 4 but delivered as seq 3") {
		t.Fatalf("%+v", check.Examples[0])
	}
}

// An ack whose seq nobody ever gets: every member throughout is owed it.
func TestAcksFlagAnAckedMessageThatReachedNobody(t *testing.T) {
	b := cleanRoom(trio, 2).send("a", "r", "a-3").ack("a", "r", "a-3", 3)
	expectViolations(t, acks(b, ""), 3, "acked_not_delivered")
}

// Members that joined after the send, or left before seeing that far, are
// not owed it; a reset that declared the seq gone excuses it.
func TestAcksOweOnlyMembersThroughout(t *testing.T) {
	b := cleanRoom([]string{"a", "b"}, 2).connect("c").join("c", "r", 2, "e1").
		send("a", "r", "a-3").connect("d").join("d", "r", 2, "e1").ack("a", "r", "a-3", 3).
		deliver("a", "r", 3, "a-3", "e1").deliver("b", "r", 3, "a-3", "e1").
		reset("c", "r", 4, "e1").leave("d", "r")
	check := acks(b, "")
	expectViolations(t, check, 0, "")
	if !strings.Contains(check.Detail, "0 broken, 1 excused by resets;") {
		t.Fatalf("detail %q", check.Detail)
	}
}

func TestAcksByIDInPubSub(t *testing.T) {
	b := newHistory()
	for _, name := range trio {
		b.connect(name).join(name, "r", 0, "")
	}
	b.message("r", "a-1", 0, "", trio...).
		send("b", "r", "b-2").ack("b", "r", "b-2", 0).deliver("a", "r", 0, "b-2", "").deliver("b", "r", 0, "b-2", "").
		message("r", "c-3", 0, "", trio...)
	check := acks(b, DeliveryPubSub)
	expectViolations(t, check, 1, "acked_not_delivered")
	if v := check.Examples[0]; v.Client != "c" || v.ID != "b-2" {
		t.Fatalf("%+v", v)
	}
}

// In a room with several epochs an ack names none; an ack nobody got is
// still wrong when every epoch holds another message at its seq.
func TestAcksFlagAnAckWhoseSeqEveryEpochGaveAnotherMessage(t *testing.T) {
	epochs := func() *historyBuilder {
		return cleanRoom(trio, 2).
			reset("a", "r", 1, "e2").reset("b", "r", 1, "e2").reset("c", "r", 1, "e2").
			message("r", "b-1", 1, "e2", trio...)
	}
	b := epochs().send("a", "r", "a-9").ack("a", "r", "a-9", 2).message("r", "a-2", 2, "e2", trio...)
	check := acks(b, "")
	expectViolations(t, check, 1, "ack_seq_taken")
	if !strings.Contains(check.Examples[0].Message, "another message (c-2, a-2)") {
		t.Fatalf("%+v", check.Examples[0])
	}
	// Seq 3 exists in neither epoch: the ack may belong to either.
	b = epochs().send("a", "r", "a-9").ack("a", "r", "a-9", 3)
	expectViolations(t, acks(b, ""), 0, "")
}

// The application asked for a send and the client dropped it: no ack, no
// give-up (a client that completes the wrong pending send on an ack).
func TestAcksFlagASendThatNeverEnded(t *testing.T) {
	b := cleanRoom(trio, 2).send("a", "r", "a-3").send("a", "r", "a-4").ack("a", "r", "a-4", 3).
		deliver("a", "r", 3, "a-4", "e1").deliver("b", "r", 3, "a-4", "e1").deliver("c", "r", 3, "a-4", "e1")
	check := acks(b, "")
	expectViolations(t, check, 1, "send_not_completed")
	if v := check.Examples[0]; v.ID != "a-3" || v.Client != "a" {
		t.Fatalf("%+v", v)
	}
	loss, _, _ := noLoss(b, "")
	expectViolations(t, loss, 0, "") // nothing acked is missing: only the intent shows it
}

// An ack for a send that was not waiting for one: the client completed a
// send twice (and so, another one not at all).
func TestAcksFlagASendCompletedTwice(t *testing.T) {
	b := cleanRoom(trio, 2).ack("c", "r", "c-2", 2)
	expectViolations(t, acks(b, ""), 1, "completion_not_pending")
}

// unavailable, rate_limited and draining ask for a resend: a client that
// gives up on them loses what the application asked for.
func TestAcksFlagAGiveUpOnARefusalThatAsksForAResend(t *testing.T) {
	for _, code := range []protocol.Code{protocol.CodeUnavailable, protocol.CodeRateLimited, protocol.CodeDraining} {
		b := cleanRoom(trio, 2).send("a", "r", "a-3").refused("a", "r", "a-3", code)
		check := acks(b, "")
		expectViolations(t, check, 1, "send_given_up")
		if !strings.Contains(check.Examples[0].Message, string(code)) {
			t.Fatalf("%+v", check.Examples[0])
		}
	}
}

// A give-up is justified by a permanent refusal, by not_member after the
// client left the room, and by attempts used up after resends; not_member
// in a room never left, and attempts "used up" by one transmission, are not.
func TestAcksJudgeEachGiveUpByItsReason(t *testing.T) {
	justified := cleanRoom(trio, 2).
		send("a", "r", "a-3").refused("a", "r", "a-3", protocol.CodeIDConflict).
		send("a", "r", "a-4").leave("a", "r").refused("a", "r", "a-4", protocol.CodeNotMember).
		send("b", "r", "b-5").sendFailed("b", "r", "b-5")
	check := acks(justified, "")
	expectViolations(t, check, 0, "")
	if !strings.Contains(check.Detail, "5 sends asked for: 3 given up, 0 not ended as they must") {
		t.Fatalf("detail %q", check.Detail)
	}
	unjustified := cleanRoom(trio, 2).
		send("a", "r", "a-3").refused("a", "r", "a-3", protocol.CodeNotMember).
		send("b", "r", "b-4").event("b", client.Event{Kind: client.KindSendFailed, Room: "r", ID: "b-4", Message: "no ack after 1 attempts"})
	expectViolations(t, acks(unjustified, ""), 2, "send_given_up")
}
