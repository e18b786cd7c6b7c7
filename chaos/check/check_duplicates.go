package check

import (
	"fmt"

	"chatlab/system/client"
)

// checkNoDuplicates checks that no client got a message twice in a room:
// neither an id it already had (the same message at a second seq slips past
// the client's seq dedupe) nor a seq it already had (the client drops it
// and flags it Duplicate, but the node sent it twice all the same). A
// delivery the client flagged Duplicate whose seq it never had is a late
// one, for the order check. Maelstrom's broadcast checker lets duplicates
// pass; this one counts every one.
func checkNoDuplicates(ix *historyIndex) (check Check, duplicated int) {
	v := newVerdict(CheckNoDuplicates)
	var passedToApp int
	for _, s := range ix.streams {
		room := ix.rooms[s.room]
		// Both map to the index of the first delivery in s.events.
		firstByID := make(map[string]int, len(s.events))
		firstBySeq := make(map[logPosition]int, len(s.events))
		for i, e := range s.events {
			if e.Kind != client.KindDelivered {
				continue
			}
			p := logPosition{room.epochOf(e.Epoch), e.Seq}
			at, again := firstByID[e.ID]
			if !again && e.Seq > 0 {
				at, again = firstBySeq[p]
			}
			if !again {
				firstByID[e.ID] = i
				if e.Seq > 0 {
					firstBySeq[p] = i
				}
				continue
			}
			first := s.events[at]
			duplicated++
			if !e.Duplicate {
				passedToApp++
			}
			message := fmt.Sprintf("%s got seq %d (%s) at %d ms, already delivered as seq %d (%s) at %d ms",
				s.client, e.Seq, e.ID, e.AtMs, first.Seq, first.ID, first.AtMs)
			if firstEpoch := room.epochOf(first.Epoch); firstEpoch != p.epoch {
				// Typically a send applied just before Redis lost its data and
				// applied again on retry, its dedupe key lost with the rest.
				message += fmt.Sprintf(" in epoch %s, before epoch %s", firstEpoch, p.epoch)
			}
			v.add(Violation{Kind: "duplicate", Client: s.client, Room: s.room, Epoch: p.epoch, Seq: e.Seq, ID: e.ID, AtMs: e.AtMs,
				Message: message})
		}
	}
	detail := fmt.Sprintf("%d deliveries, %d duplicates (%d passed to the app, %d dropped by the client's seq dedupe)",
		ix.deliveryCount, duplicated, passedToApp, duplicated-passedToApp)
	return v.done(detail), duplicated
}
