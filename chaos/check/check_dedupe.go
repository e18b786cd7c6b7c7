package check

import (
	"fmt"

	"chatlab/system/client"
)

// checkClientDedupe holds every frame a client discarded as a duplicate
// (a delivered event flagged Duplicate: it arrived on the wire, the client
// state machine kept it from the application) against what the
// application already had. A discard is right when the client passed that
// seq of that epoch to the application before, or when the application
// was never owed it: at or below the head its membership started from, or
// below the from of a reset it got in that epoch. Any other discard
// swallowed a message the application never saw: a client that drops too
// much is invisible to the node-side checks' counts, so it is named here
// (no-loss, order and resume, which judge what the application got, see
// the hole too).
func checkClientDedupe(ix *historyIndex) Check {
	v := newVerdict(CheckClientDedupe)
	if ix.pubsub {
		return v.done("not applicable: pubsub delivery has no seqs to dedupe by")
	}
	var repeated, unowed int
	for _, w := range ix.windows {
		room := ix.rooms[w.room]
		passed := map[logPosition]bool{}
		floors := map[string]uint64{room.epochOf(w.joined.Epoch): w.head} // per epoch: at or below is not owed
		for _, e := range w.events {
			switch {
			case e.Kind == client.KindReset && e.Seq > 0:
				epoch := room.epochOf(e.Epoch)
				floors[epoch] = max(floors[epoch], e.Seq-1)
			case passedToApp(e) && e.Seq > 0:
				passed[logPosition{room.epochOf(e.Epoch), e.Seq}] = true
			case e.Kind == client.KindDelivered && e.Duplicate && e.Seq > 0:
				p := logPosition{room.epochOf(e.Epoch), e.Seq}
				switch floor, ok := floors[p.epoch]; {
				case passed[p]:
					repeated++
				case ok && p.seq <= floor:
					unowed++
				default:
					v.add(Violation{Kind: "discarded_unseen", Client: w.client, Room: w.room, Epoch: p.epoch, Seq: e.Seq, ID: e.ID, AtMs: e.AtMs,
						Message: fmt.Sprintf("%s discarded seq %d (%s) of epoch %s as a duplicate, but never passed it to the application",
							w.client, e.Seq, e.ID, p.epoch)})
				}
			}
		}
	}
	return v.done(fmt.Sprintf("%d frames discarded as duplicates: %d already passed to the application, %d before the membership's start or a reset, %d never passed on",
		repeated+unowed+v.check.Violations, repeated, unowed, v.check.Violations))
}
