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
// one, but for one case, excused and counted apart: a send retried across a
// loss of Redis's data. Issued before the room's new epoch appeared and
// not acked before it, it may have been applied in the lost epoch (and
// delivered there) with its dedupe key lost in the same loss, so that its
// retry is applied again: across a data loss a send in flight is delivered
// at least once, as a message behind a reset is excused from no-loss.
// Nor is a seq the app had before it left the room, sent again to its new
// membership because that began at a lower joined head (a node whose view
// of the room lags) and dropped by the client: the node owed it to the
// membership it was told of, and the client kept it from the app; those
// are counted apart. Nor, excused and counted apart, a message the node
// sent again after a reset that went back within the epoch (from below a
// seq the client had passed on: the room's history went back, as when a
// promoted replica lacks its master's last writes), which the client
// dropped as seen: the client keeps its last seq within an epoch, so it
// passes none of the node's replay on twice, and one passed on again is a
// duplicate.
func checkNoDuplicates(ix *historyIndex) (check Check, duplicated int) {
	v := newVerdict(CheckNoDuplicates)
	var passedOn, excused, rejoined, resentAfterGoingBack int
	for _, s := range ix.streams {
		room := ix.rooms[s.room]
		membership := -1 // the index in s.windows of the window event i is in
		// Both map to the index of the first delivery passed to the app.
		firstByID := make(map[string]int, len(s.events))
		firstBySeq := make(map[logPosition]int, len(s.events))
		// passedMax is, per epoch, the highest seq passed to the app;
		// wentBack the highest seq a reset that went back below it left
		// behind, which the node may send again.
		passedMax, wentBack := map[string]uint64{}, map[string]uint64{}
		for i, e := range s.events {
			for membership+1 < len(s.windows) && s.windows[membership+1].at <= i {
				membership++
			}
			if e.Kind == client.KindReset {
				if epoch := room.epochOf(e.Epoch); e.Seq > 0 && e.Seq-1 < passedMax[epoch] {
					wentBack[epoch] = max(wentBack[epoch], passedMax[epoch])
				}
				continue
			}
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
					passedMax[p.epoch] = max(passedMax[p.epoch], e.Seq)
				}
				continue
			}
			first := s.events[at]
			if e.Duplicate && membership >= 0 && behindRejoin(room, s.windows[membership], at, p) {
				rejoined++
				continue
			}
			if retriedAcrossLoss(ix.messages[e.ID], room, first, p.epoch) {
				excused++
				continue
			}
			if e.Duplicate && e.Seq > 0 && e.Seq <= wentBack[p.epoch] {
				resentAfterGoingBack++
				continue
			}
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
	if rejoined > 0 {
		detail += fmt.Sprintf("; %d not counted: had by the app before it left the room, sent again to its new membership from a lower joined head and dropped by the client", rejoined)
	}
	if excused > 0 {
		detail += fmt.Sprintf("; %d excused: sends in flight when Redis lost its data, delivered in the lost epoch and again after their retry", excused)
	}
	if resentAfterGoingBack > 0 {
		detail += fmt.Sprintf("; %d excused: sent again after a reset that took the room back within its epoch (its history went back), and dropped by the client as seen", resentAfterGoingBack)
	}
	return v.done(detail), duplicated
}

// behindRejoin says whether a delivery at p, first passed on at stream
// index first, lies between window w's joined head and where the app
// already stood when w began, the first delivery being of an earlier
// membership.
func behindRejoin(room *roomIndex, w *window, first int, p logPosition) bool {
	return first < w.at && p.epoch == room.epochOf(w.joined.Epoch) && p.seq > w.joined.Head && p.seq <= w.head
}

// retriedAcrossLoss says whether a second delivery of m, in epoch later
// than the first delivery's, is its retry across a data loss: m was sent
// before epoch appeared and not acked before that.
func retriedAcrossLoss(m *message, room *roomIndex, first client.Event, epoch string) bool {
	if m == nil || !m.sent || !room.after(epoch, room.epochOf(first.Epoch)) {
		return false
	}
	lostAtMs, known := room.epochFirst[epoch]
	return known && m.sentAtMs < lostAtMs && (!m.acked || m.ackAtMs >= lostAtMs)
}
