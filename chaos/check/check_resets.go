package check

import (
	"fmt"
	"math"
	"sort"

	"chatlab/system/client"
)

// Explanations of a justified reset (Violation.Kind of none; counted in
// the resets check's detail).
const (
	// resetEpoch: the reset moves the client into a later epoch of the room:
	// Redis lost the room's data and seqs started over.
	resetEpoch = "epoch change"
	// resetRetention: every seq it skips was older than the newest
	// HistoryLenMax of its epoch when the client got the reset: trimmed
	// from the stream.
	resetRetention = "retention"
	// resetNothing: the reset skips no seq the client had not seen.
	resetNothing = "nothing skipped"
)

// checkResets holds every reset a client got to its cause. A reset tells
// the client that the seqs before from are gone; every other check excuses
// what it skips, so it must be true: the room's history was really lost
// (the reset moves into a later epoch, which the node only starts after
// Redis lost the room's data) or really trimmed (each skipped seq was
// below the newest historyLenMax of its epoch when the client got the
// reset, the stream's exact MAXLEN), or it skips nothing. The room's head
// at that moment is bounded from above (headBound) by the seqs of the
// messages sent before and after it. The node's recent ring only adds to what the stream holds, so the stream's
// length is the bound. historyLenMax 0 means the bound is unknown: no
// reset is explained by retention.
func checkResets(ix *historyIndex, historyLenMax int) Check {
	v := newVerdict(CheckResets)
	if ix.pubsub {
		return v.done("not applicable: pubsub delivery has no history to reset")
	}
	heads := roomHeads(ix)
	explained := map[string]int{}
	for _, w := range ix.windows {
		room := ix.rooms[w.room]
		epoch, last := room.epochOf(w.joined.Epoch), w.head
		for _, e := range w.events {
			switch {
			case passedToApp(e) && e.Seq > 0:
				if seqEpoch := room.epochOf(e.Epoch); seqEpoch != epoch && seqEpoch != "" {
					epoch, last = seqEpoch, e.Seq
				} else {
					last = max(last, e.Seq)
				}
			case e.Kind == client.KindReset:
				to := room.epochOf(e.Epoch)
				newEpoch := to != "" && epoch != "" && to != epoch
				from := last + 1
				if newEpoch {
					from = 1
				}
				why := judgeReset(ix, heads, historyLenMax, w, e, epoch, to, from, newEpoch, v)
				if why != "" {
					explained[why]++
				}
				floor := uint64(0)
				if e.Seq > 0 {
					floor = e.Seq - 1
				}
				if newEpoch {
					epoch, last = to, floor
				} else {
					epoch, last = firstNonEmpty(epoch, to), max(last, floor)
				}
			}
		}
	}
	bound := "retention bound unknown"
	if historyLenMax > 0 {
		bound = fmt.Sprintf("stream retains %d per room", historyLenMax)
	}
	return v.done(fmt.Sprintf("%d resets: %d by an epoch change, %d by retention (%s), %d skipping nothing, %d unjustified",
		explained[resetEpoch]+explained[resetRetention]+explained[resetNothing]+v.check.Violations,
		explained[resetEpoch], explained[resetRetention], bound, explained[resetNothing], v.check.Violations))
}

// judgeReset explains one reset into epoch to with the given from, the
// client having seen up to from-1 (or being new to the epoch). It returns
// the explanation, or "" after flagging it.
func judgeReset(ix *historyIndex, heads map[string]map[string]*headBound, historyLenMax int, w *window, e client.Event,
	epoch, to string, from uint64, newEpoch bool, v *verdict) string {
	room := ix.rooms[w.room]
	if newEpoch && !room.after(to, epoch) {
		v.add(Violation{Kind: "reset_to_older_epoch", Client: w.client, Room: w.room, Epoch: to, Seq: e.Seq, AtMs: e.AtMs,
			Message: fmt.Sprintf("%s was reset from epoch %s back to epoch %s, which began before it", w.client, epoch, to)})
		return ""
	}
	if e.Seq <= from {
		if newEpoch {
			return resetEpoch
		}
		return resetNothing
	}
	head := heads[w.room][to].at(e.AtMs)
	if historyLenMax > 0 && head >= uint64(historyLenMax) && e.Seq <= head-uint64(historyLenMax)+1 {
		return resetRetention
	}
	var why string
	switch {
	case historyLenMax <= 0:
		why = "the retention bound is unknown"
	case head < uint64(historyLenMax):
		why = fmt.Sprintf("the room's head was at most %d, within the %d the stream retains", head, historyLenMax)
	default:
		why = fmt.Sprintf("the room's head was at most %d, so the stream still held seqs from %d", head, head-uint64(historyLenMax)+1)
	}
	v.add(Violation{Kind: "unjustified_reset", Client: w.client, Room: w.room, Epoch: to, Seq: e.Seq, AtMs: e.AtMs,
		Message: fmt.Sprintf("%s got reset {from: %d} at %d ms, skipping seqs %d..%d of epoch %s, but %s",
			w.client, e.Seq, e.AtMs, from, e.Seq-1, to, why)})
	return ""
}

// headBound bounds a room epoch's head from above over time, two ways.
// Every seq appended by a moment was sent before it, so the head is at
// most the highest seq of the messages sent by then (seen: the running
// maximum). And seqs are appended in order, so the head is below the seq
// of every message sent after that moment (later: the suffix minimum),
// which keeps the bound tight while old sends, held by clients that were
// away, land with new seqs.
type headBound struct {
	seenAtMs []int64
	seen     []uint64 // seen[i]: the highest seq sent by seenAtMs[i]
	sentAtMs []int64
	later    []uint64 // later[i]: the lowest seq sent at or after sentAtMs[i]
}

// at is the highest seq that may have been appended by atMs.
func (b *headBound) at(atMs int64) uint64 {
	if b == nil {
		return 0
	}
	var head uint64
	if i := sort.Search(len(b.seenAtMs), func(i int) bool { return b.seenAtMs[i] > atMs }); i > 0 {
		head = b.seen[i-1]
	}
	if i := sort.Search(len(b.sentAtMs), func(i int) bool { return b.sentAtMs[i] > atMs }); i < len(b.sentAtMs) {
		head = min(head, b.later[i]-1)
	}
	return head
}

// headPoint is one seq and a moment its message existed by (seen) or was
// first sent at (sent).
type headPoint struct {
	atMs int64
	seq  uint64
}

// roomHeads builds every room epoch's head bound from the deliveries and
// the placed acks.
func roomHeads(ix *historyIndex) map[string]map[string]*headBound {
	seen := map[string]map[string][]headPoint{}
	sent := map[string]map[string][]headPoint{}
	add := func(points map[string]map[string][]headPoint, room, epoch string, atMs int64, seq uint64) {
		if points[room] == nil {
			points[room] = map[string][]headPoint{}
		}
		points[room][epoch] = append(points[room][epoch], headPoint{atMs, seq})
	}
	for _, s := range ix.streams {
		room := ix.rooms[s.room]
		for _, e := range s.events {
			if e.Kind != client.KindDelivered || e.Seq == 0 {
				continue
			}
			atMs := e.AtMs
			if m := ix.messages[e.ID]; m != nil && m.sent {
				atMs = min(atMs, m.sentAtMs)
				add(sent, s.room, room.epochOf(e.Epoch), m.sentAtMs, e.Seq)
			}
			add(seen, s.room, room.epochOf(e.Epoch), atMs, e.Seq)
		}
	}
	for _, name := range ix.roomNames {
		for _, m := range ix.rooms[name].messages {
			if m.placed && m.ackSeq > 0 {
				add(seen, name, m.epoch, m.startMs(), m.ackSeq)
				if m.sent {
					add(sent, name, m.epoch, m.sentAtMs, m.ackSeq)
				}
			}
		}
	}
	heads := map[string]map[string]*headBound{}
	bound := func(room, epoch string) *headBound {
		if heads[room] == nil {
			heads[room] = map[string]*headBound{}
		}
		if heads[room][epoch] == nil {
			heads[room][epoch] = &headBound{}
		}
		return heads[room][epoch]
	}
	for room, epochs := range seen { // map order: each bound is built alone
		for epoch, list := range epochs { // map order: as above
			b := bound(room, epoch)
			sort.Slice(list, func(i, j int) bool { return list[i].atMs < list[j].atMs })
			var head uint64
			for _, p := range list {
				head = max(head, p.seq)
				if n := len(b.seenAtMs); n > 0 && b.seenAtMs[n-1] == p.atMs {
					b.seen[n-1] = head
					continue
				}
				b.seenAtMs, b.seen = append(b.seenAtMs, p.atMs), append(b.seen, head)
			}
		}
	}
	for room, epochs := range sent { // map order: each bound is built alone
		for epoch, list := range epochs { // map order: as above
			b := bound(room, epoch)
			sort.Slice(list, func(i, j int) bool { return list[i].atMs < list[j].atMs })
			b.sentAtMs, b.later = make([]int64, len(list)), make([]uint64, len(list))
			lowest := uint64(math.MaxUint64)
			for i := len(list) - 1; i >= 0; i-- {
				lowest = min(lowest, list[i].seq)
				b.sentAtMs[i], b.later[i] = list[i].atMs, lowest
			}
		}
	}
	return heads
}
