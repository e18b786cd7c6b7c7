package chaos

import (
	"fmt"

	"chatlab/system/client"
)

// checkResume checks every reconnect: after a disconnect and the joined
// that resumes the room, the first new seq the client gets must follow the
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
		resumes += resumeWindow(ix.rooms[w.room], w, v)
	}
	return v.done(fmt.Sprintf("%d resumes after a reconnect, %d skipped seqs", resumes, v.check.Violations))
}

// resumeWindow walks one window and judges the first new delivery after
// each rejoin. It returns how many rejoins it saw.
func resumeWindow(room *roomIndex, w *window, v *verdict) (resumes int) {
	epoch, last := room.epochOf(w.joined.Epoch), w.joined.Head
	disconnected, resuming := false, false
	var rejoin client.Event
	for _, e := range w.events {
		switch e.Kind {
		case client.KindDisconnected:
			disconnected = true
		case client.KindJoined:
			if disconnected {
				disconnected, resuming, rejoin = false, true, e
				resumes++
			}
		case client.KindReset:
			floor := uint64(0)
			if e.Seq > 0 {
				floor = e.Seq - 1
			}
			resetEpoch := room.epochOf(e.Epoch)
			if resetEpoch != "" && epoch != "" && resetEpoch != epoch {
				epoch, last = resetEpoch, floor
			} else {
				epoch, last = firstNonEmpty(epoch, resetEpoch), max(last, floor)
			}
		case client.KindDelivered:
			if e.Seq == 0 {
				continue
			}
			deliveredEpoch := room.epochOf(e.Epoch)
			sameEpoch := epoch == "" || deliveredEpoch == "" || deliveredEpoch == epoch
			if resuming && sameEpoch && e.Seq <= last {
				continue // seen before: not the first new one
			}
			if resuming {
				resuming = false
				judgeResume(w, v, rejoin, e, epoch, deliveredEpoch, last, sameEpoch)
			}
			if sameEpoch {
				epoch, last = firstNonEmpty(epoch, deliveredEpoch), max(last, e.Seq)
			} else {
				epoch, last = deliveredEpoch, e.Seq
			}
		}
	}
	return resumes
}

func judgeResume(w *window, v *verdict, rejoin, e client.Event, epoch, deliveredEpoch string, last uint64, sameEpoch bool) {
	switch {
	case !sameEpoch:
		v.add(Violation{Kind: "resume_epoch", Client: w.client, Room: w.room, Epoch: deliveredEpoch, Seq: e.Seq, ID: e.ID, AtMs: e.AtMs,
			Message: fmt.Sprintf("%s rejoined at %d ms in epoch %s after seq %d and got seq %d of epoch %s, with no reset",
				w.client, rejoin.AtMs, epoch, last, e.Seq, deliveredEpoch)})
	case e.Seq > last+1:
		v.add(Violation{Kind: "resume_skipped", Client: w.client, Room: w.room, Epoch: deliveredEpoch, Seq: e.Seq, ID: e.ID, AtMs: e.AtMs,
			Message: fmt.Sprintf("%s rejoined at %d ms after seq %d, then got seq %d: seqs %d..%d skipped with no reset",
				w.client, rejoin.AtMs, last, e.Seq, last+1, e.Seq-1)})
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
