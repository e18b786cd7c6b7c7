package check

import (
	"fmt"
	"sort"

	"chatlab/system/client"
)

// gapTrackedSeqsMax bounds the skipped seqs the order check remembers per
// window, waiting to see whether they arrive late (a swap) or never (a
// gap). A longer jump is a gap at once.
const gapTrackedSeqsMax = 4096

// checkOrder checks that every client's application saw each room in one
// order and without gaps (what the client discarded as a duplicate is not
// seen; a seq it discarded without having it is a gap). In recover mode the seq is the order: no two clients may
// see different ids at one seq, each client's seqs must rise, and within a
// connection each seq must follow the last one seen (or the joined head),
// unless a reset said what is gone. The jump at a reconnect is the resume
// check's. In pubsub mode, without seqs, each client's order is compared
// with that of the client that got the most, by their longest common
// subsequence. In recover mode a sender's sends that each went out once
// must also take seqs in the order it sent them (senderOrder).
func checkOrder(ix *historyIndex) (check Check, reordered int) {
	v := newVerdict(CheckOrder)
	if ix.pubsub {
		reordered = orderByID(ix, v)
		return v.done(fmt.Sprintf("pubsub: %d deliveries out of the room's common order", reordered)), reordered
	}
	var gaps int
	for _, w := range ix.windows {
		walk := newOrderWalk(ix.rooms[w.room], w, v)
		walk.run()
		reordered += walk.reordered
		gaps += walk.gaps
	}
	conflicts := orderConflicts(ix, v)
	reordered += conflicts
	senders := senderOrder(ix, v)
	return v.done(fmt.Sprintf("%d deliveries out of order, %d seqs seen as different ids by different clients, %d gaps, %d sends out of their sender's order",
		reordered-conflicts, conflicts, gaps, senders)), reordered
}

// orderWalk follows one window's deliveries in the order the client got them.
type orderWalk struct {
	room *roomIndex
	w    *window
	v    *verdict

	epoch string
	last  uint64 // the highest seq seen in epoch, or the floor a reset set
	seen  map[logPosition]bool
	// missing holds seqs jumped over in epoch that have not arrived yet.
	missing   map[uint64]bool
	announced map[string]bool // epochs a reset named
	// resuming is set by a joined after a disconnect: the next new seq is
	// the resume check's to judge.
	disconnected, resuming bool

	reordered, gaps int
}

func newOrderWalk(room *roomIndex, w *window, v *verdict) *orderWalk {
	return &orderWalk{room: room, w: w, v: v,
		epoch: room.epochOf(w.joined.Epoch), last: w.head,
		seen: map[logPosition]bool{}, missing: map[uint64]bool{}, announced: map[string]bool{}}
}

func (o *orderWalk) run() {
	for _, e := range o.w.events {
		switch e.Kind {
		case client.KindDisconnected:
			o.disconnected = true
		case client.KindJoined:
			o.resuming, o.disconnected = o.resuming || o.disconnected, false
		case client.KindReset:
			o.reset(e)
		case client.KindDelivered:
			if e.Seq > 0 && passedToApp(e) {
				o.deliver(e)
			}
		}
	}
	o.flushGaps()
}

func (o *orderWalk) reset(e client.Event) {
	epoch := o.room.epochOf(e.Epoch)
	o.announced[epoch] = true
	floor := uint64(0)
	if e.Seq > 0 {
		floor = e.Seq - 1
	}
	if epoch != "" && o.epoch != "" && epoch != o.epoch {
		o.flushGaps()
		o.epoch, o.last = epoch, floor
		return
	}
	if o.epoch == "" {
		o.epoch = epoch
	}
	o.last = max(o.last, floor)
}

func (o *orderWalk) deliver(e client.Event) {
	epoch := o.room.epochOf(e.Epoch)
	if epoch != "" && o.epoch != "" && epoch != o.epoch {
		if !o.announced[epoch] {
			o.v.add(Violation{Kind: "epoch_without_reset", Client: o.w.client, Room: o.w.room, Epoch: epoch, Seq: e.Seq, ID: e.ID, AtMs: e.AtMs,
				Message: fmt.Sprintf("%s got seq %d of epoch %s while in epoch %s, with no reset", o.w.client, e.Seq, epoch, o.epoch)})
		}
		o.flushGaps()
		o.epoch, o.last = epoch, e.Seq-1
	}
	if o.epoch == "" {
		o.epoch = epoch
	}
	p := logPosition{o.epoch, e.Seq}
	if o.seen[p] {
		return // a duplicate: the duplicates check counts it
	}
	o.seen[p] = true
	if o.resuming {
		o.resuming = false
		if e.Seq > o.last+1 {
			o.last = e.Seq - 1
		}
	}
	switch {
	case e.Seq == o.last+1:
		o.last = e.Seq
	case e.Seq > o.last+1:
		o.skip(o.last+1, e.Seq-1, e)
		o.last = e.Seq
	default:
		delete(o.missing, e.Seq)
		o.reordered++
		o.v.add(Violation{Kind: "out_of_order", Client: o.w.client, Room: o.w.room, Epoch: o.epoch, Seq: e.Seq, ID: e.ID, AtMs: e.AtMs,
			Message: fmt.Sprintf("%s got seq %d after seq %d", o.w.client, e.Seq, o.last)})
	}
}

// skip notes seqs jumped over: they may still come (out of order) or not.
func (o *orderWalk) skip(from, to uint64, e client.Event) {
	if to-from+1 > gapTrackedSeqsMax {
		o.gap(from, to, e.AtMs)
		return
	}
	for seq := from; seq <= to; seq++ {
		o.missing[seq] = true
	}
}

// flushGaps reports the seqs of the epoch that never arrived, one
// violation per run of consecutive seqs.
func (o *orderWalk) flushGaps() {
	if len(o.missing) == 0 {
		return
	}
	seqs := make([]uint64, 0, len(o.missing))
	for seq := range o.missing { // map order: sorted below
		seqs = append(seqs, seq)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	start := seqs[0]
	for i := 1; i <= len(seqs); i++ {
		if i < len(seqs) && seqs[i] == seqs[i-1]+1 {
			continue
		}
		o.gap(start, seqs[i-1], 0)
		if i < len(seqs) {
			start = seqs[i]
		}
	}
	clear(o.missing)
}

func (o *orderWalk) gap(from, to uint64, atMs int64) {
	o.gaps++
	o.v.add(Violation{Kind: "gap", Client: o.w.client, Room: o.w.room, Epoch: o.epoch, Seq: from, AtMs: atMs,
		Message: fmt.Sprintf("%s never got seqs %d..%d: skipped within a connection, with no reset", o.w.client, from, to)})
}

// orderConflicts counts deliveries whose id differs from the id the first
// delivery of that seq had: two clients saw the room in different orders.
func orderConflicts(ix *historyIndex, v *verdict) int {
	conflicts := 0
	for _, s := range ix.streams {
		room := ix.rooms[s.room]
		reported := map[logPosition]bool{}
		for _, e := range s.events {
			if e.Kind != client.KindDelivered || e.Seq == 0 {
				continue
			}
			p := logPosition{room.epochOf(e.Epoch), e.Seq}
			first := room.logs[p.epoch].firstDelivered[e.Seq]
			if first == e.ID || reported[p] {
				continue
			}
			reported[p] = true
			conflicts++
			v.add(Violation{Kind: "different_order", Client: s.client, Room: s.room, Epoch: p.epoch, Seq: e.Seq, ID: e.ID, AtMs: e.AtMs,
				Message: fmt.Sprintf("%s got %s as seq %d, another client got %s", s.client, e.ID, e.Seq, first)})
		}
	}
	return conflicts
}

// orderByID compares each client's order of a room's messages with the
// order of the client that got the most: what is not in their longest
// common subsequence came out of order.
func orderByID(ix *historyIndex, v *verdict) (reordered int) {
	for _, name := range ix.roomNames {
		var sequences [][]client.Event
		var owners []string
		reference := -1
		for _, s := range ix.rooms[name].streams {
			sequences, owners = append(sequences, firstDeliveries(s)), append(owners, s.client)
			if last := len(sequences) - 1; reference < 0 || len(sequences[last]) > len(sequences[reference]) {
				reference = last
			}
		}
		if reference < 0 {
			continue
		}
		rank := map[string]int{}
		for i, e := range sequences[reference] {
			rank[e.ID] = i
		}
		for i, sequence := range sequences {
			if i == reference {
				continue
			}
			var common []client.Event
			var ranks []int
			for _, e := range sequence {
				if r, ok := rank[e.ID]; ok {
					common, ranks = append(common, e), append(ranks, r)
				}
			}
			for j, kept := range longestIncreasing(ranks) {
				if kept {
					continue
				}
				reordered++
				e := common[j]
				v.add(Violation{Kind: "out_of_order", Client: owners[i], Room: name, ID: e.ID, AtMs: e.AtMs,
					Message: fmt.Sprintf("%s got %s out of the order %s (the client that got the most) saw", owners[i], e.ID, owners[reference])})
			}
		}
	}
	return reordered
}

// firstDeliveries lists a stream's deliveries, each id once.
func firstDeliveries(s *stream) []client.Event {
	var list []client.Event
	seen := map[string]bool{}
	for _, e := range s.events {
		if passedToApp(e) && !seen[e.ID] {
			seen[e.ID] = true
			list = append(list, e)
		}
	}
	return list
}

// longestIncreasing marks one longest strictly increasing subsequence of
// xs (patience sorting, O(n log n)).
func longestIncreasing(xs []int) []bool {
	keep := make([]bool, len(xs))
	if len(xs) == 0 {
		return keep
	}
	var tails []int // tails[k]: index of the smallest last element of a run of length k+1
	prev := make([]int, len(xs))
	for i, x := range xs {
		k := sort.Search(len(tails), func(j int) bool { return xs[tails[j]] >= x })
		prev[i] = -1
		if k > 0 {
			prev[i] = tails[k-1]
		}
		if k == len(tails) {
			tails = append(tails, i)
		} else {
			tails[k] = i
		}
	}
	for i := tails[len(tails)-1]; i >= 0; i = prev[i] {
		keep[i] = true
	}
	return keep
}
