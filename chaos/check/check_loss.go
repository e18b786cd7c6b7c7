package check

import (
	"fmt"

	"chatlab/system/client"
)

// seqSpanMax bounds the seqs of one (room, epoch) the loss check walks per
// window: a seq far beyond what was sent is a bug the order and
// linearizable checks name, not a reason to walk a trillion positions.
const seqSpanMax = 1 << 20

// logPosition is one seq of one epoch of a room.
type logPosition struct {
	epoch string
	seq   uint64
}

// lossTally counts what the loss check expected and found.
type lossTally struct {
	expected, lost, excused, truncated int
}

// checkNoLoss checks that every message of a room reached the application
// of every client that was a member throughout (a delivery the client
// discarded as a duplicate is not one): each membership window (first joined to
// left, reconnects included) expects every seq after its joined head, in
// its epoch and every later one; every seq up to the highest anybody saw or
// was acked exists, since the script hands them out one by one. A seq a
// reset declared gone is excused, not lost. A window that ended early (a
// left, or offline at the end) expects only up to the last seq it saw. In
// pubsub mode, without seqs, a window expects every message sent after its
// joined that was acked or that somebody got.
func checkNoLoss(ix *historyIndex) (check Check, lost, excused int) {
	v := newVerdict(CheckNoLoss)
	var tally lossTally
	for _, w := range ix.windows {
		if ix.pubsub {
			lossByID(ix, w, v, &tally)
		} else {
			lossBySeq(ix, w, v, &tally)
		}
	}
	if !ix.pubsub {
		lossUnplaced(ix, v, &tally)
	}
	detail := fmt.Sprintf("%d membership windows expected %d deliveries: %d lost, %d excused by resets",
		len(ix.windows), tally.expected, tally.lost, tally.excused)
	if ix.pubsub {
		detail += " (pubsub: by id)"
	}
	if tally.truncated > 0 {
		detail += fmt.Sprintf("; %d windows had more than %d seqs in one epoch, the rest unchecked", tally.truncated, seqSpanMax)
	}
	return v.done(detail), tally.lost, tally.excused
}

// lossBySeq checks one window of a recover-mode history.
func lossBySeq(ix *historyIndex, w *window, v *verdict, tally *lossTally) {
	room := ix.rooms[w.room]
	seen := map[logPosition]bool{}
	seenEpochs := map[string]bool{}
	var resets []client.Event
	var horizon logPosition
	hasHorizon := false
	for _, e := range w.events {
		switch {
		case e.Kind == client.KindReset:
			resets = append(resets, e)
		case passedToApp(e) && e.Seq > 0:
			p := logPosition{room.epochOf(e.Epoch), e.Seq}
			seen[p], seenEpochs[p.epoch] = true, true
			if !hasHorizon || room.after(p.epoch, horizon.epoch) || (p.epoch == horizon.epoch && p.seq > horizon.seq) {
				horizon, hasHorizon = p, true
			}
		}
	}
	if w.closed() && !hasHorizon {
		return
	}
	startEpoch := room.epochOf(w.joined.Epoch)
	for _, epoch := range room.epochs {
		l := room.logs[epoch]
		if l == nil || !expectsEpoch(room, w, startEpoch, epoch, seenEpochs) {
			continue
		}
		from, to := uint64(1), l.maxSeq
		if epoch == startEpoch {
			from = w.head + 1
		}
		if w.closed() {
			if room.after(epoch, horizon.epoch) {
				continue
			}
			if epoch == horizon.epoch {
				to = min(to, horizon.seq)
			}
		}
		if to >= from && to-from >= seqSpanMax {
			to, tally.truncated = from+seqSpanMax-1, tally.truncated+1
		}
		for seq := from; seq <= to; seq++ {
			tally.expected++
			switch {
			case seen[logPosition{epoch, seq}]:
			case excusedByReset(room, resets, epoch, seq):
				tally.excused++
			default:
				tally.lost++
				id := l.idAt(seq)
				var ackedAtMs int64
				if m := ix.messages[id]; m != nil && m.acked {
					ackedAtMs = m.ackAtMs
				}
				v.add(Violation{Kind: "lost", Client: w.client, Room: w.room, Epoch: epoch, Seq: seq, ID: id, AtMs: ackedAtMs,
					Message: fmt.Sprintf("seq %d (%s) never reached %s, a member since %d ms (joined at head %d)",
						seq, nameOrUnknown(id), w.client, w.joined.AtMs, w.head)})
			}
		}
	}
}

// expectsEpoch reports whether a window should see an epoch's seqs: its
// joined epoch and every later one. A joined that named no epoch (an empty
// room) expects the epochs that began after it or that it saw.
func expectsEpoch(room *roomIndex, w *window, startEpoch, epoch string, seenEpochs map[string]bool) bool {
	if epoch == startEpoch {
		return true
	}
	if _, known := room.epochRank[startEpoch]; known && startEpoch != "" {
		return room.after(epoch, startEpoch)
	}
	return room.epochFirst[epoch] >= w.joined.AtMs || seenEpochs[epoch]
}

// excusedByReset reports whether a reset the client got declared the seq
// gone: a reset in the same epoch covers the seqs below its from, a reset
// into a later epoch covers everything of the earlier ones.
func excusedByReset(room *roomIndex, resets []client.Event, epoch string, seq uint64) bool {
	for _, r := range resets {
		resetEpoch := room.epochOf(r.Epoch)
		if (resetEpoch == epoch && seq < r.Seq) || room.after(resetEpoch, epoch) {
			return true
		}
	}
	return false
}

// lossUnplaced handles acked messages nobody got in a room with several
// epochs: the ack does not say which epoch its seq belongs to. A reset in
// the room after the send says its history may be gone (excused);
// otherwise every window open throughout lost it.
func lossUnplaced(ix *historyIndex, v *verdict, tally *lossTally) {
	for _, name := range ix.roomNames {
		room := ix.rooms[name]
		for _, m := range room.messages {
			if !m.acked || m.placed || m.delivered {
				continue
			}
			startMs := m.ackAtMs
			if m.sent {
				startMs = m.sentAtMs
			}
			gone := false
			for _, r := range room.resets {
				gone = gone || r.AtMs >= startMs
			}
			for _, w := range ix.windows {
				if w.room != name || w.closed() || w.joined.AtMs >= startMs {
					continue
				}
				tally.expected++
				if gone {
					tally.excused++
					continue
				}
				tally.lost++
				v.add(Violation{Kind: "lost", Client: w.client, Room: name, Seq: m.ackSeq, ID: m.id, AtMs: m.ackAtMs,
					Message: fmt.Sprintf("%s, acked as seq %d in an epoch the history cannot tell, never reached anybody", m.id, m.ackSeq)})
			}
		}
	}
}

// lossByID checks one window of a pubsub-mode history, where only ids
// identify messages.
func lossByID(ix *historyIndex, w *window, v *verdict, tally *lossTally) {
	got := map[string]bool{}
	var lastDeliveredMs int64
	for _, e := range w.events {
		if passedToApp(e) {
			got[e.ID], lastDeliveredMs = true, e.AtMs
		}
	}
	if w.closed() && len(got) == 0 {
		return
	}
	for _, m := range ix.rooms[w.room].messages {
		if !m.sent || m.sentAtMs <= w.joined.AtMs || (!m.acked && !m.delivered) {
			continue
		}
		settledMs := m.firstDeliveredMs
		if m.acked {
			settledMs = m.ackAtMs
		}
		if w.closed() && settledMs > lastDeliveredMs {
			continue
		}
		tally.expected++
		if got[m.id] {
			continue
		}
		tally.lost++
		v.add(Violation{Kind: "lost", Client: w.client, Room: w.room, ID: m.id, AtMs: settledMs,
			Message: fmt.Sprintf("%s, sent at %d ms, never reached %s, a member since %d ms",
				m.id, m.sentAtMs, w.client, w.joined.AtMs)})
	}
}

func nameOrUnknown(id string) string {
	if id == "" {
		return "id unknown"
	}
	return id
}
