package check

import (
	"fmt"
	"strings"
	"testing"
)

// allowance is the nodes' default: 20 sends at once, 10 a second.
var allowance = Facts{SendBurst: 20, SendRatePerSecond: 10}

// sendsAcked has name send count messages to room r from fromMs, one every
// everyMs, each acked ackAfterMs after it was sent (seqs from seq on).
func sendsAcked(b *historyBuilder, name string, seq uint64, count int, fromMs, everyMs, ackAfterMs int64) {
	for i := range count {
		id := fmt.Sprintf("%s-%d", name, seq+uint64(i))
		at := fromMs + int64(i)*everyMs
		b.at(at).send(name, "r", id)
		b.at(at+ackAfterMs).ack(name, "r", id, seq+uint64(i))
	}
	sortByTime(b.h)
}

func TestTheRateLimitCheckPassesSendsWithinTheAllowance(t *testing.T) {
	b := newHistory().connect("ann").join("ann", "r", 0, "e1")
	// Ten a second for ten seconds, after a burst of twenty at once.
	sendsAcked(b, "ann", 1, 20, 100, 0, 5)
	sendsAcked(b, "ann", 21, 100, 200, 100, 5)
	c := checkRateLimit(byClient(b.h), allowance)
	expectViolations(t, c, 0, "")
	if !strings.Contains(c.Detail, "120 sends accepted on 1 connections") {
		t.Fatalf("detail %q", c.Detail)
	}
}

func TestTheRateLimitCheckPassesAFloodHeldToTheAllowance(t *testing.T) {
	// A flooder issues a hundred a second for two seconds; the node takes
	// ten a second, so the acks trickle in over twenty seconds.
	b := newHistory().connect("fl").join("fl", "r", 0, "e1")
	for i := range 200 {
		id := fmt.Sprintf("fl-%d", i+1)
		b.at(int64(1000+10*i)).send("fl", "r", id)
		b.at(int64(1000+100*i+50)).ack("fl", "r", id, uint64(i+1))
	}
	sortByTime(b.h)
	expectViolations(t, checkRateLimit(byClient(b.h), allowance), 0, "")
}

func TestTheRateLimitCheckFlagsAFloodPassedOn(t *testing.T) {
	// A hundred a second accepted for three seconds: the node never said
	// rate_limited.
	b := newHistory().connect("fl").join("fl", "r", 0, "e1")
	sendsAcked(b, "fl", 1, 300, 1000, 10, 3)
	c := checkRateLimit(byClient(b.h), allowance)
	expectViolations(t, c, 1, "over_send_allowance")
	if !strings.Contains(c.Examples[0].Message, "fl's connection") {
		t.Fatalf("message %q", c.Examples[0].Message)
	}
}

func TestTheRateLimitCheckFlagsABurstOverTheBucket(t *testing.T) {
	// Forty at once: twice the bucket.
	b := newHistory().connect("ann").join("ann", "r", 0, "e1")
	sendsAcked(b, "ann", 1, 40, 1000, 0, 5)
	expectViolations(t, checkRateLimit(byClient(b.h), allowance), 1, "over_send_allowance")
}

func TestTheRateLimitCheckGivesEachConnectionItsOwnBucket(t *testing.T) {
	// Twenty at once, a reconnect, twenty at once again: each connection
	// has a full bucket.
	b := newHistory().connect("ann").join("ann", "r", 0, "e1")
	sendsAcked(b, "ann", 1, 20, 1000, 0, 5)
	b.at(1100).disconnect("ann").connect("ann").join("ann", "r", 20, "e1")
	sendsAcked(b, "ann", 21, 20, 1200, 0, 5)
	expectViolations(t, checkRateLimit(byClient(b.h), allowance), 0, "")
}

func TestTheRateLimitCheckLeavesOutOwnMessagesComingBack(t *testing.T) {
	// Forty sends accepted on the first connection, whose acks were lost;
	// on the next one the client's own messages come back in the replay,
	// which acks them without a publish there.
	b := newHistory().connect("ann").join("ann", "r", 0, "e1")
	for i := range 40 {
		b.at(int64(100+100*i)).send("ann", "r", fmt.Sprintf("ann-%d", i+1))
	}
	b.at(5000).disconnect("ann").connect("ann").join("ann", "r", 0, "e1")
	for i := range 40 {
		id := fmt.Sprintf("ann-%d", i+1)
		b.deliver("ann", "r", uint64(i+1), id, "e1").ack("ann", "r", id, uint64(i+1))
	}
	expectViolations(t, checkRateLimit(byClient(b.h), allowance), 0, "")
	// The same acks on their own are sends accepted there.
	b = newHistory().connect("ann").join("ann", "r", 0, "e1")
	for i := range 40 {
		b.at(int64(100+100*i)).send("ann", "r", fmt.Sprintf("ann-%d", i+1))
	}
	b.at(5000).disconnect("ann").connect("ann").join("ann", "r", 0, "e1")
	for i := range 40 {
		b.ack("ann", "r", fmt.Sprintf("ann-%d", i+1), uint64(i+1))
	}
	expectViolations(t, checkRateLimit(byClient(b.h), allowance), 1, "over_send_allowance")
	// Own messages coming back before their acks on the connection the
	// sends were issued on were published from there.
	b = newHistory().connect("fl").join("fl", "r", 0, "e1")
	for i := range 300 {
		id := fmt.Sprintf("fl-%d", i+1)
		b.at(int64(1000+10*i)).send("fl", "r", id)
		b.at(int64(1000+10*i+3)).deliver("fl", "r", uint64(i+1), id, "e1").ack("fl", "r", id, uint64(i+1))
	}
	expectViolations(t, checkRateLimit(byClient(b.h), allowance), 1, "over_send_allowance")
}

func TestTheRateLimitCheckNeedsTheAllowance(t *testing.T) {
	b := newHistory().connect("fl").join("fl", "r", 0, "e1")
	sendsAcked(b, "fl", 1, 300, 1000, 10, 3)
	c := checkRateLimit(byClient(b.h), Facts{})
	expectViolations(t, c, 0, "")
	if !strings.Contains(c.Detail, "not applicable") {
		t.Fatalf("detail %q", c.Detail)
	}
}
