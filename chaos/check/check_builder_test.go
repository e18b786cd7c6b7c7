package check

import (
	"strconv"
	"strings"
	"testing"

	"chatlab/system/client"
	"chatlab/system/protocol"
)

// historyBuilder writes histories for the checker tests. Each event is
// stamped with the builder's clock, which then moves on by one millisecond;
// at sets the clock.
type historyBuilder struct {
	h     History
	nowMs int64
}

func newHistory() *historyBuilder { return &historyBuilder{nowMs: 1} }

func (b *historyBuilder) at(ms int64) *historyBuilder {
	b.nowMs = ms
	return b
}

func (b *historyBuilder) event(name string, e client.Event) *historyBuilder {
	e.AtMs = b.nowMs
	b.nowMs++
	b.h = append(b.h, Record{Client: name, Event: e})
	return b
}

func (b *historyBuilder) join(name, room string, head uint64, epoch string) *historyBuilder {
	return b.event(name, client.Event{Kind: client.KindJoined, Room: room, Head: head, Epoch: epoch})
}

func (b *historyBuilder) send(name, room, id string) *historyBuilder {
	return b.event(name, client.Event{Kind: client.KindSent, Room: room, ID: id, Body: "body of " + id})
}

func (b *historyBuilder) ack(name, room, id string, seq uint64) *historyBuilder {
	return b.event(name, client.Event{Kind: client.KindAcked, Room: room, ID: id, Seq: seq})
}

// sendFailed is a send given up after its attempts: it went out again
// once, then the client gave up without a refusal.
func (b *historyBuilder) sendFailed(name, room, id string) *historyBuilder {
	b.event(name, client.Event{Kind: client.KindResent, Room: room, ID: id})
	return b.event(name, client.Event{Kind: client.KindSendFailed, Room: room, ID: id, Message: "no ack after 2 attempts"})
}

// refused is a send given up on a refusal with code.
func (b *historyBuilder) refused(name, room, id string, code protocol.Code) *historyBuilder {
	return b.event(name, client.Event{Kind: client.KindSendFailed, Room: room, ID: id, Code: code, Message: "refused"})
}

func (b *historyBuilder) deliver(name, room string, seq uint64, id, epoch string) *historyBuilder {
	return b.event(name, client.Event{Kind: client.KindDelivered, Room: room, Seq: seq, ID: id, Epoch: epoch,
		From: senderOf(id), Body: "body of " + id})
}

// again is a delivery the client flagged Duplicate: its seq was at or below
// the last one the client had seen.
func (b *historyBuilder) again(name, room string, seq uint64, id, epoch string) *historyBuilder {
	return b.event(name, client.Event{Kind: client.KindDelivered, Room: room, Seq: seq, ID: id, Epoch: epoch,
		From: senderOf(id), Body: "body of " + id, Duplicate: true})
}

func (b *historyBuilder) reset(name, room string, from uint64, epoch string) *historyBuilder {
	return b.event(name, client.Event{Kind: client.KindReset, Room: room, Seq: from, Epoch: epoch})
}

func (b *historyBuilder) disconnect(name string) *historyBuilder {
	return b.event(name, client.Event{Kind: client.KindDisconnected, CloseCode: 1006})
}

func (b *historyBuilder) connect(name string) *historyBuilder {
	b.event(name, client.Event{Kind: client.KindConnected})
	return b.event(name, client.Event{Kind: client.KindWelcome, Node: "n1", From: name})
}

func (b *historyBuilder) leave(name, room string) *historyBuilder {
	return b.event(name, client.Event{Kind: client.KindLeft, Room: room})
}

// message is a send that went well: sent, acked as seq, delivered to each
// receiver in turn.
func (b *historyBuilder) message(room, id string, seq uint64, epoch string, receivers ...string) *historyBuilder {
	sender := senderOf(id)
	b.send(sender, room, id).ack(sender, room, id, seq)
	for _, name := range receivers {
		b.deliver(name, room, seq, id, epoch)
	}
	return b
}

func senderOf(id string) string {
	sender, _, _ := strings.Cut(id, "-")
	return sender
}

// cleanRoom is a run with nothing wrong: the clients join room r (epoch e1)
// at head 0, then each message in turn is sent by the next client and
// reaches all of them.
func cleanRoom(clients []string, messages int) *historyBuilder {
	b := newHistory()
	for _, name := range clients {
		b.connect(name).join(name, "r", 0, "e1")
	}
	for i := 1; i <= messages; i++ {
		sender := clients[i%len(clients)]
		b.message("r", sender+"-"+strconv.Itoa(i), uint64(i), "e1", clients...)
	}
	return b
}

// expectViolations asserts a check's verdict: want violations, all of kind.
func expectViolations(t *testing.T, c Check, want int, kind string) {
	t.Helper()
	if c.Violations != want || c.OK != (want == 0) {
		t.Fatalf("%s: ok=%v violations=%d, want %d (%s): %+v", c.Name, c.OK, c.Violations, want, c.Detail, c.Examples)
	}
	if len(c.Examples) != min(want, violationExamplesMax) {
		t.Fatalf("%s: %d examples for %d violations", c.Name, len(c.Examples), want)
	}
	for _, v := range c.Examples {
		if v.Kind != kind {
			t.Fatalf("%s: violation kind %q, want %q: %+v", c.Name, v.Kind, kind, v)
		}
	}
}
