package check

import (
	"fmt"

	"chatlab/system/client"
)

// checkResume checks every reconnect: after a disconnect and the joined
// that resumes the room, the first new seq the client passes to the
// application must follow the
// last seq it saw, unless a reset after the rejoin says where history
// starts now (the same epoch: from the reset's seq; a new epoch: from its
// seq in that epoch). Seqs it had already seen may come again first (the
// duplicates check counts them). Pubsub mode has no seqs to resume from.
func checkResume(ix *historyIndex) Check {
	v := newVerdict(CheckResume)
	if ix.pubsub {
		return v.done("not applicable: pubsub delivery has no seqs to resume from")
	}
	resumes := 0
	for _, w := range ix.windows {
		walk := resumeWalk{room: ix.rooms[w.room], w: w, v: v, epoch: ix.rooms[w.room].epochOf(w.joined.Epoch), last: w.head}
		walk.run()
		resumes += walk.resumes
	}
	return v.done(fmt.Sprintf("%d resumes after a reconnect, %d skipped seqs", resumes, v.check.Violations))
}

// resumeWalk follows one window, judging the first new delivery after each
// rejoin.
type resumeWalk struct {
	room *roomIndex
	w    *window
	v    *verdict

	epoch string
	last  uint64 // the highest seq seen in epoch, or the floor a reset set
	// resuming is set from a rejoin (a joined after a disconnect) to the
	// first new delivery.
	disconnected, resuming bool
	rejoin                 client.Event
	resumes                int
}

func (r *resumeWalk) run() {
	for _, e := range r.w.events {
		switch e.Kind {
		case client.KindDisconnected:
			r.disconnected = true
		case client.KindJoined:
			if r.disconnected {
				r.disconnected, r.resuming, r.rejoin = false, true, e
				r.resumes++
			}
		case client.KindReset:
			r.reset(e)
		case client.KindDelivered:
			if e.Seq > 0 && passedToApp(e) {
				r.deliver(e)
			}
		}
	}
}

func (r *resumeWalk) reset(e client.Event) {
	floor := uint64(0)
	if e.Seq > 0 {
		floor = e.Seq - 1
	}
	epoch := r.room.epochOf(e.Epoch)
	if epoch != "" && r.epoch != "" && epoch != r.epoch {
		r.epoch, r.last = epoch, floor
		return
	}
	r.epoch, r.last = firstNonEmpty(r.epoch, epoch), max(r.last, floor)
}

func (r *resumeWalk) deliver(e client.Event) {
	epoch := r.room.epochOf(e.Epoch)
	sameEpoch := r.epoch == "" || epoch == "" || epoch == r.epoch
	if r.resuming && sameEpoch && e.Seq <= r.last {
		return // seen before: not the first new one
	}
	if r.resuming {
		r.resuming = false
		r.judge(e, epoch, sameEpoch)
	}
	if sameEpoch {
		r.epoch, r.last = firstNonEmpty(r.epoch, epoch), max(r.last, e.Seq)
		return
	}
	r.epoch, r.last = epoch, e.Seq
}

// judge checks the first new delivery after a rejoin against the last seq
// seen before it.
func (r *resumeWalk) judge(e client.Event, epoch string, sameEpoch bool) {
	switch {
	case !sameEpoch:
		r.v.add(Violation{Kind: "resume_epoch", Client: r.w.client, Room: r.w.room, Epoch: epoch, Seq: e.Seq, ID: e.ID, AtMs: e.AtMs,
			Message: fmt.Sprintf("%s rejoined at %d ms in epoch %s after seq %d and got seq %d of epoch %s, with no reset",
				r.w.client, r.rejoin.AtMs, r.epoch, r.last, e.Seq, epoch)})
	case e.Seq > r.last+1:
		r.v.add(Violation{Kind: "resume_skipped", Client: r.w.client, Room: r.w.room, Epoch: epoch, Seq: e.Seq, ID: e.ID, AtMs: e.AtMs,
			Message: fmt.Sprintf("%s rejoined at %d ms after seq %d, then got seq %d: seqs %d..%d skipped with no reset",
				r.w.client, r.rejoin.AtMs, r.last, e.Seq, r.last+1, e.Seq-1)})
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
