package chaos

import (
	"testing"

	"chatlab/chaos/check"
	"chatlab/system/client"
)

func record(name string, e client.Event) check.Record { return check.Record{Client: name, Event: e} }

// A report's violation rows carry what the history tells about them: a
// gap's time, message id and node; a loss's node (where the member was when
// the message was acked) and the sender's ack.
func TestViolationRowsAreFilledFromTheHistory(t *testing.T) {
	history := check.History{
		record("alice", client.Event{Kind: client.KindWelcome, AtMs: 10, Node: "n1"}),
		record("bob", client.Event{Kind: client.KindWelcome, AtMs: 12, Node: "n2"}),
		record("alice", client.Event{Kind: client.KindAcked, AtMs: 100, Room: "r", Seq: 7, ID: "alice-1"}),
		record("bob", client.Event{Kind: client.KindDelivered, AtMs: 150, Room: "r", Seq: 8, ID: "alice-2"}),
		record("bob", client.Event{Kind: client.KindDisconnected, AtMs: 200, Node: "n2"}),
		record("bob", client.Event{Kind: client.KindWelcome, AtMs: 300, Node: "n3"}),
	}
	ix := newRowIndex(history)

	// The order checker reports a gap with no time and no id.
	gap := ix.operations(check.Violation{Kind: "gap", Client: "bob", Room: "r", Seq: 7})
	if len(gap) != 1 || gap[0].AtMs != 150 || gap[0].ID != "alice-1" || gap[0].Node != "n2" || gap[0].Detail == "" {
		t.Errorf("gap row %+v; want at 150 ms, id alice-1, node n2 and what showed it", gap)
	}

	lost := ix.operations(check.Violation{Kind: "lost", Client: "bob", Room: "r", Seq: 7, ID: "alice-1", AtMs: 100})
	if len(lost) != 2 || lost[0].Node != "n2" || lost[1].Kind != "acked" || lost[1].Client != "alice" || lost[1].Node != "n1" {
		t.Errorf("loss rows %+v; want bob on n2 and alice's ack on n1", lost)
	}

	// Off line when the message was acked: no node is blamed.
	history = append(history, record("alice", client.Event{Kind: client.KindAcked, AtMs: 250, Room: "r", Seq: 9, ID: "alice-3"}))
	offline := newRowIndex(history).operations(check.Violation{Kind: "lost", Client: "bob", Room: "r", Seq: 9, ID: "alice-3", AtMs: 250})
	if offline[0].Node != "" || offline[0].Detail != "not connected when the message was acked" {
		t.Errorf("loss row while off line %+v; want no node", offline[0])
	}
}
