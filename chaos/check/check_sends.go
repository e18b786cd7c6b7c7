package check

import (
	"fmt"
	"sort"

	"chatlab/system/client"
	"chatlab/system/protocol"
)

// sendLife is one send the application asked for (a sent event), from the
// client's point of view: it must end exactly once, in an acked or a
// send_failed, and a send given up must have a reason the run explains.
type sendLife struct {
	client, room, id string
	sentAtMs         int64
	// transmissions counts the sent and resent events: how often it went
	// out.
	transmissions int
	// leftAfter is true when the client left the room after the send: a
	// not_member refusal of a resend is then the node's right answer.
	leftAfter bool
	done      bool
	failed    bool
}

// sendsIndex is every send's life, and the completions that had no send
// waiting for them, found while indexing.
type sendsIndex struct {
	lives    []*sendLife // in the order of their sent events
	problems []Violation // found in history order
}

// collectSends follows each client's sends through the history. It runs
// in history order, so each client's events are seen in the order the
// client emitted them.
func (ix *historyIndex) collectSends(h History) {
	open := map[string]map[string]*sendLife{} // client → id → the send waiting for its end
	byRoom := map[string]map[string][]*sendLife{}
	s := &ix.sends
	for i := range h {
		r := &h[i]
		switch r.Kind {
		case client.KindSent:
			if open[r.Client] == nil {
				open[r.Client], byRoom[r.Client] = map[string]*sendLife{}, map[string][]*sendLife{}
			}
			if open[r.Client][r.ID] != nil {
				s.problems = append(s.problems, Violation{Kind: "send_id_reused", Client: r.Client, Room: r.Room, ID: r.ID, AtMs: r.AtMs,
					Message: fmt.Sprintf("%s sent %s again while the first send of that id was still waiting for its ack", r.Client, r.ID)})
				continue
			}
			life := &sendLife{client: r.Client, room: r.Room, id: r.ID, sentAtMs: r.AtMs, transmissions: 1}
			open[r.Client][r.ID] = life
			byRoom[r.Client][r.Room] = append(byRoom[r.Client][r.Room], life)
			s.lives = append(s.lives, life)
		case client.KindResent:
			if life := open[r.Client][r.ID]; life != nil {
				life.transmissions++
			}
		case client.KindLeft:
			for _, life := range byRoom[r.Client][r.Room] {
				life.leftAfter = true
			}
		case client.KindAcked, client.KindSendFailed:
			life := open[r.Client][r.ID]
			if life == nil {
				what := "an ack"
				if r.Kind == client.KindSendFailed {
					what = "a give-up"
				}
				s.problems = append(s.problems, Violation{Kind: "completion_not_pending", Client: r.Client, Room: r.Room, Seq: r.Seq, ID: r.ID, AtMs: r.AtMs,
					Message: fmt.Sprintf("%s reported %s of %s, which was not waiting for one (never sent, or already acked or given up)", r.Client, what, r.ID)})
				continue
			}
			life.done = true
			delete(open[r.Client], r.ID)
			rooms := byRoom[r.Client][life.room]
			for k, other := range rooms {
				if other == life {
					byRoom[r.Client][life.room] = append(rooms[:k], rooms[k+1:]...)
					break
				}
			}
			if r.Kind == client.KindSendFailed {
				life.failed = true
				if why := unjustifiedGiveUp(life, r.Event); why != "" {
					s.problems = append(s.problems, Violation{Kind: "send_given_up", Client: r.Client, Room: life.room, ID: r.ID, AtMs: r.AtMs,
						Message: fmt.Sprintf("%s gave up %s (sent at %d ms): %s", r.Client, r.ID, life.sentAtMs, why)})
				}
			}
		}
	}
	sort.SliceStable(s.problems, func(i, j int) bool { return s.problems[i].AtMs < s.problems[j].AtMs })
}

// unjustifiedGiveUp says why a send_failed has no reason the run explains,
// or "" when it has one: a permanent refusal, a not_member after the
// client left the room, or attempts used up after the send went out more
// than once. unavailable, rate_limited and draining ask the client to send
// again: giving up on them loses a message the application asked for.
func unjustifiedGiveUp(life *sendLife, failed client.Event) string {
	switch failed.Code {
	case protocol.CodeUnavailable, protocol.CodeRateLimited, protocol.CodeDraining:
		return fmt.Sprintf("the node answered %s, which asks for the same id to be sent again", failed.Code)
	case protocol.CodeNotMember:
		if !life.leftAfter {
			return "the node answered not_member, but the client never left the room"
		}
	case "":
		if life.transmissions < 2 {
			return fmt.Sprintf("no refusal, and it went out only once (%q)", failed.Message)
		}
	}
	return ""
}

// judgeSends adds the sends that never ended, and the problems found while
// indexing, to the acks verdict. It returns how many sends the application
// asked for and how many were given up with a reason.
func judgeSends(ix *historyIndex, v *verdict) (asked, givenUp int) {
	for _, p := range ix.sends.problems {
		v.add(p)
	}
	for _, life := range ix.sends.lives {
		if !life.done {
			v.add(Violation{Kind: "send_not_completed", Client: life.client, Room: life.room, ID: life.id, AtMs: life.sentAtMs,
				Message: fmt.Sprintf("the application sent %s at %d ms; by the end of the run %s had neither an ack nor a give-up for it",
					life.id, life.sentAtMs, life.client)})
		}
	}
	return len(ix.sends.lives), ix.sends.givenUp()
}

func (s *sendsIndex) givenUp() int {
	count := 0
	for _, life := range s.lives {
		if life.failed {
			count++
		}
	}
	return count
}

// senderOrder checks that a sender's messages took seqs in the order it
// sent them: the node keeps at most one publish of a (room, sender) in
// flight, fails the ones behind a failed one with it and refuses a
// connection's later sends of a room after a retryable refusal until the
// refused one comes again, and the client resends a room's refused sends
// in the order it made them. So every acked send is compared, refused and
// resent ones too, within one client, room and epoch (a send given up is
// not acked). It returns how many sends took a seq below that of a send
// made before them.
func senderOrder(ix *historyIndex, v *verdict) (reordered int) {
	type last struct {
		id    string
		epoch string
		seq   uint64
	}
	before := map[[2]string]last{} // (client, room) → the once-sent acked send with the highest seq so far
	for _, life := range ix.sends.lives {
		m := ix.messages[life.id]
		if m == nil || !m.acked || !m.placed || m.ackSeq == 0 {
			continue
		}
		key := [2]string{life.client, life.room}
		prev, ok := before[key]
		if ok && prev.epoch == m.epoch && m.ackSeq < prev.seq {
			reordered++
			v.add(Violation{Kind: "sender_reordered", Client: life.client, Room: life.room, Epoch: m.epoch, Seq: m.ackSeq, ID: life.id, AtMs: m.ackAtMs,
				Message: fmt.Sprintf("%s sent %s after %s, but %s took seq %d and %s seq %d: the sender's order was lost",
					life.client, life.id, prev.id, life.id, m.ackSeq, prev.id, prev.seq)})
			continue
		}
		before[key] = last{id: life.id, epoch: m.epoch, seq: m.ackSeq}
	}
	return reordered
}
