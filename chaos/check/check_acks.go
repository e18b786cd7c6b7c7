package check

import (
	"fmt"
	"strings"

	"chatlab/system/client"
)

// checkAcks holds every ack against the message it acknowledges, by id, in
// both delivery modes. An ack promises the message is in the room's log:
// every client that was a member from before the send on must pass that
// id to its application, and in recover mode at the acked seq, unless a
// reset the client got declared that seq gone. In recover mode an ack with
// seq 0, or whose seq never carries the id while the id is delivered at
// another seq, or whose seq carries another id, is a broken promise too.
// no-loss judges the log seq by seq; this check judges each acked message,
// so that an ack for a send that never reached the log cannot hide behind
// another message's seq.
//
// It also holds the client to the application's intent (check_sends.go):
// every send the application asked for ends exactly once, acked or given
// up, and a give-up needs a reason: a refusal that asks for a resend
// (unavailable, rate_limited, draining) is none.
func checkAcks(ix *historyIndex) Check {
	v := newVerdict(CheckAcks)
	views := map[*window]*windowView{}
	byRoom := map[string][]*window{}
	for _, w := range ix.windows {
		byRoom[w.room] = append(byRoom[w.room], w)
	}
	var acked, expected, excused int
	for _, name := range ix.roomNames {
		room := ix.rooms[name]
		for _, m := range room.messages {
			if !m.acked {
				continue
			}
			acked++
			if ix.pubsub {
				e, x := acksByID(m, byRoom[name], views, v)
				expected, excused = expected+e, excused+x
				continue
			}
			epoch, placed := ackPosition(ix, room, m, v)
			if !placed {
				continue
			}
			e, x := acksBySeq(room, m, epoch, byRoom[name], views, v)
			expected, excused = expected+e, excused+x
		}
	}
	broken := v.check.Violations
	asked, givenUp := judgeSends(ix, v)
	detail := fmt.Sprintf("%d acked sends, %d deliveries owed to members: %d broken, %d excused by resets; "+
		"%d sends asked for: %d given up, %d not ended as they must",
		acked, expected, broken, excused, asked, givenUp, v.check.Violations-broken)
	if ix.pubsub {
		detail += " (pubsub: by id)"
	}
	return v.done(detail)
}

// ackPosition finds the epoch of an ack's seq from the deliveries of its
// id, flagging an ack whose seq cannot be right. placed is false when the
// ack was judged here or its epoch cannot be told (no-loss's unplaced
// count covers a message nobody got in a room with several epochs).
func ackPosition(ix *historyIndex, room *roomIndex, m *message, v *verdict) (epoch string, placed bool) {
	if m.ackSeq == 0 {
		v.add(Violation{Kind: "ack_without_seq", Client: m.sender, Room: m.room, ID: m.id, AtMs: m.ackAtMs,
			Message: fmt.Sprintf("%s was acked without a seq: nothing says where it is in the log", m.id)})
		return "", false
	}
	var deliveredAt []logPosition
	for _, e := range room.epochs {
		l := room.logs[e]
		if l == nil {
			continue
		}
		if l.firstDelivered[m.ackSeq] == m.id {
			return e, true
		}
		for seq, id := range l.firstDelivered { // map order: only the lowest is kept
			if id == m.id && (len(deliveredAt) == 0 || seq < deliveredAt[0].seq) {
				deliveredAt = []logPosition{{e, seq}}
			}
		}
	}
	if len(deliveredAt) > 0 {
		v.add(Violation{Kind: "ack_seq_mismatch", Client: m.sender, Room: m.room, Epoch: deliveredAt[0].epoch, Seq: m.ackSeq, ID: m.id, AtMs: m.ackAtMs,
			Message: fmt.Sprintf("%s was acked as seq %d but delivered as seq %d", m.id, m.ackSeq, deliveredAt[0].seq)})
		return "", false
	}
	if len(room.epochs) != 1 {
		// Nobody got it and the ack names no epoch. If every epoch of the
		// room has another message at the acked seq, no placement is right;
		// otherwise it is no-loss's to judge as unplaced.
		holders := make([]string, 0, len(room.epochs))
		for _, e := range room.epochs {
			l := room.logs[e]
			if l == nil || l.firstDelivered[m.ackSeq] == "" {
				return "", false
			}
			holders = append(holders, l.firstDelivered[m.ackSeq])
		}
		v.add(Violation{Kind: "ack_seq_taken", Client: m.sender, Room: m.room, Seq: m.ackSeq, ID: m.id, AtMs: m.ackAtMs,
			Message: fmt.Sprintf("%s was acked as seq %d, but in every epoch seq %d is another message (%s) and %s reached nobody",
				m.id, m.ackSeq, m.ackSeq, strings.Join(holders, ", "), m.id)})
		return "", false
	}
	epoch = room.epochs[0]
	if l := room.logs[epoch]; l != nil {
		if other, ok := l.firstDelivered[m.ackSeq]; ok {
			v.add(Violation{Kind: "ack_seq_taken", Client: m.sender, Room: m.room, Epoch: epoch, Seq: m.ackSeq, ID: m.id, AtMs: m.ackAtMs,
				Message: fmt.Sprintf("%s was acked as seq %d, but seq %d is %s and %s reached nobody", m.id, m.ackSeq, m.ackSeq, other, m.id)})
			return "", false
		}
	}
	return epoch, true
}

// acksBySeq checks that every window that was a member from before the
// send passed the acked message on at its seq.
func acksBySeq(room *roomIndex, m *message, epoch string, windows []*window, views map[*window]*windowView, v *verdict) (expected, excused int) {
	for _, w := range windows {
		if w.joined.AtMs >= m.startMs() {
			continue
		}
		view := viewOf(room, w, views)
		startEpoch := room.epochOf(w.joined.Epoch)
		if !expectsEpoch(room, w, startEpoch, epoch, view.seenEpochs) || (epoch == startEpoch && m.ackSeq <= w.head) {
			continue
		}
		if w.closed() && !view.reached(room, logPosition{epoch, m.ackSeq}) {
			continue
		}
		expected++
		switch got, ok := view.passed[logPosition{epoch, m.ackSeq}]; {
		case ok && got == m.id:
		case excusedByReset(room, view.resets, epoch, m.ackSeq):
			excused++
		default:
			what := "never got it"
			if ok {
				what = "got " + got + " there instead"
			}
			v.add(Violation{Kind: "acked_not_delivered", Client: w.client, Room: w.room, Epoch: epoch, Seq: m.ackSeq, ID: m.id, AtMs: m.ackAtMs,
				Message: fmt.Sprintf("%s was acked as seq %d at %d ms; %s, a member since %d ms, %s", m.id, m.ackSeq, m.ackAtMs, w.client, w.joined.AtMs, what)})
		}
	}
	return expected, excused
}

// acksByID is acksBySeq for pubsub delivery: the id alone says what was
// passed on. A window that ended early owes only messages acked before
// its last delivery.
func acksByID(m *message, windows []*window, views map[*window]*windowView, v *verdict) (expected, excused int) {
	for _, w := range windows {
		if w.joined.AtMs >= m.startMs() {
			continue
		}
		view := viewOf(nil, w, views)
		if w.closed() && view.lastPassedMs < m.ackAtMs {
			continue
		}
		expected++
		if view.passedIDs[m.id] {
			continue
		}
		v.add(Violation{Kind: "acked_not_delivered", Client: w.client, Room: w.room, ID: m.id, AtMs: m.ackAtMs,
			Message: fmt.Sprintf("%s was acked at %d ms; %s, a member since %d ms, never got it", m.id, m.ackAtMs, w.client, w.joined.AtMs)})
	}
	return expected, 0
}

// startMs is when the message's send began: its first sent, or its ack
// when the history has no sent.
func (m *message) startMs() int64 {
	if m.sent {
		return m.sentAtMs
	}
	return m.ackAtMs
}

// windowView is what one membership window passed to the application.
type windowView struct {
	passed       map[logPosition]string // recover mode: the id passed on at each position
	passedIDs    map[string]bool
	seenEpochs   map[string]bool
	resets       []client.Event
	horizon      logPosition // the furthest position passed on
	hasHorizon   bool
	lastPassedMs int64
}

func viewOf(room *roomIndex, w *window, views map[*window]*windowView) *windowView {
	if view := views[w]; view != nil {
		return view
	}
	view := &windowView{passed: map[logPosition]string{}, passedIDs: map[string]bool{}, seenEpochs: map[string]bool{}}
	for _, e := range w.events {
		switch {
		case e.Kind == client.KindReset:
			view.resets = append(view.resets, e)
		case passedToApp(e):
			view.passedIDs[e.ID], view.lastPassedMs = true, e.AtMs
			if room == nil || e.Seq == 0 {
				continue
			}
			p := logPosition{room.epochOf(e.Epoch), e.Seq}
			if _, ok := view.passed[p]; !ok {
				view.passed[p] = e.ID
			}
			view.seenEpochs[p.epoch] = true
			if !view.hasHorizon || room.after(p.epoch, view.horizon.epoch) || (p.epoch == view.horizon.epoch && p.seq > view.horizon.seq) {
				view.horizon, view.hasHorizon = p, true
			}
		}
	}
	views[w] = view
	return view
}

// reached reports whether the window passed on something at or beyond p.
func (view *windowView) reached(room *roomIndex, p logPosition) bool {
	if !view.hasHorizon {
		return false
	}
	h := view.horizon
	return room.after(h.epoch, p.epoch) || (h.epoch == p.epoch && h.seq >= p.seq)
}
