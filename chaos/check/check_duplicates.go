package check

import (
	"fmt"

	"chatlab/system/client"
)

// checkNoDuplicates checks that no client got a message twice in a room.
// The first time is the first time the client passed it to the
// application; after that, any delivery of the same id (the same message at
// a second seq slips past the client's seq dedupe) or of the same seq is a
// duplicate: passed to the application again, or sent again by the node and
// dropped by the client's dedupe (the node sent it twice all the same). A
// delivery the client discarded before ever passing its seq on is no
// duplicate: it is the client-dedupe check's (and no-loss's, and order's).
// Maelstrom's broadcast checker lets duplicates pass; this one counts every
// one.
func checkNoDuplicates(ix *historyIndex) (check Check, duplicated int) {
	v := newVerdict(CheckNoDuplicates)
	var passedOn int
	for _, s := range ix.streams {
		room := ix.rooms[s.room]
		// Both map to the index of the first delivery passed to the app.
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
				if e.Duplicate {
					continue
				}
				firstByID[e.ID] = i
				if e.Seq > 0 {
					firstBySeq[p] = i
				}
				continue
			}
			first := s.events[at]
			duplicated++
			if !e.Duplicate {
				passedOn++
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
		ix.deliveryCount, duplicated, passedOn, duplicated-passedOn)
	return v.done(detail), duplicated
}
