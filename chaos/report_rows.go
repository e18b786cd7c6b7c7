package chaos

import (
	"fmt"
	"sort"

	"chatlab/chaos/check"
	"chatlab/reports"
	"chatlab/system/client"
)

// rowIndex answers, from a run's history, what a violation's own record
// leaves out: which message a room's seq was, when a gap showed, which
// node a client was on at a moment, and who had the message acked.
type rowIndex struct {
	ids   map[roomSeq]string
	acks  map[string]check.Record // message id -> its ack
	nodes map[string][]nodeSpell  // client -> where it was, in time order
	// delivered holds, per client and room, the deliveries in time order.
	delivered map[clientRoom][]check.Record
}

type roomSeq struct {
	room string
	seq  uint64
}

type clientRoom struct{ client, room string }

// nodeSpell: from AtMs on, the client was on Node ("" after a disconnect).
type nodeSpell struct {
	atMs int64
	node string
}

func newRowIndex(history check.History) *rowIndex {
	ix := &rowIndex{ids: map[roomSeq]string{}, acks: map[string]check.Record{}, nodes: map[string][]nodeSpell{},
		delivered: map[clientRoom][]check.Record{}}
	for _, r := range history {
		switch r.Kind {
		case client.KindAcked:
			ix.acks[r.ID] = r
			ix.ids[roomSeq{r.Room, r.Seq}] = r.ID
		case client.KindDelivered:
			if _, known := ix.ids[roomSeq{r.Room, r.Seq}]; !known && !r.Duplicate {
				ix.ids[roomSeq{r.Room, r.Seq}] = r.ID
			}
			key := clientRoom{r.Client, r.Room}
			ix.delivered[key] = append(ix.delivered[key], r)
		case client.KindWelcome:
			ix.nodes[r.Client] = append(ix.nodes[r.Client], nodeSpell{r.AtMs, r.Node})
		case client.KindDisconnected:
			ix.nodes[r.Client] = append(ix.nodes[r.Client], nodeSpell{r.AtMs, ""})
		}
	}
	return ix
}

// nodeAt is the node the client was connected to at atMs ("" if none).
func (ix *rowIndex) nodeAt(name string, atMs int64) string {
	spells := ix.nodes[name]
	i := sort.Search(len(spells), func(i int) bool { return spells[i].atMs > atMs })
	if i == 0 {
		return ""
	}
	return spells[i-1].node
}

// operations are the rows that show a violation: its own, with the id,
// the time and the node filled in where the history tells them, and for a
// loss the ack of the message that never came.
func (ix *rowIndex) operations(v check.Violation) []reports.Operation {
	row := reports.Operation{AtMs: v.AtMs, Client: v.Client, Kind: v.Kind, Room: v.Room, Seq: v.Seq, ID: v.ID}
	if row.ID == "" && row.Seq != 0 {
		row.ID = ix.ids[roomSeq{v.Room, v.Seq}]
	}
	if v.Kind == "gap" && row.AtMs == 0 {
		// The gap showed when the client took the first message after it.
		for _, d := range ix.delivered[clientRoom{v.Client, v.Room}] {
			if d.Seq > v.Seq && !d.Duplicate {
				row.AtMs, row.Detail = d.AtMs, fmt.Sprintf("took seq %d (%s) with seq %d never before it", d.Seq, d.ID, v.Seq)
				break
			}
		}
	}
	row.Node = ix.nodeAt(v.Client, row.AtMs)
	rows := []reports.Operation{row}
	if v.Kind != "lost" {
		return rows
	}
	ack, acked := ix.acks[row.ID]
	if !acked {
		return rows
	}
	// Which node dropped it: the one the member was on when the message
	// was acked (if it was on one then).
	if node := ix.nodeAt(v.Client, ack.AtMs); node != "" {
		rows[0].Node, rows[0].Detail = node, fmt.Sprintf("on %s when the message was acked; it never came", node)
	} else {
		rows[0].Node, rows[0].Detail = "", "not connected when the message was acked"
	}
	return append(rows, reports.Operation{AtMs: ack.AtMs, Client: ack.Client, Kind: string(client.KindAcked), Room: ack.Room,
		Seq: ack.Seq, ID: ack.ID, Node: ix.nodeAt(ack.Client, ack.AtMs), Detail: "the sender's ack"})
}
