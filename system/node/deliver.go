package node

import "chatlab/system/protocol"

// Message takes a message that arrived on a room subscription.
func (n *Node) Message(msg protocol.Msg) {
	r := n.rooms[msg.Room]
	if r == nil {
		return // left since the subscription delivered it
	}
	if n.cfg.Delivery == PubSub {
		n.deliverPubSub(r, msg)
		return
	}
	n.arrive(r, msg)
}

// arrive places a live message: accepted when it is the next seq, held when
// it is ahead (and the gap fetched), dropped when already delivered.
func (n *Node) arrive(r *room, msg protocol.Msg) {
	if !r.synced {
		n.hold(r, msg)
		return
	}
	if msg.Epoch != "" && msg.Epoch != r.epoch {
		n.changeEpoch(r, msg.Epoch)
	}
	switch {
	case msg.Seq < r.next:
		return
	case msg.Seq == r.next:
		n.accept(r, msg)
		n.drainPending(r)
	default:
		n.hold(r, msg)
		n.fetchRoom(r)
	}
}

// hold keeps a message that arrived ahead of the room's next seq.
func (n *Node) hold(r *room, msg protocol.Msg) {
	if len(r.pending) < pendingLenMax {
		r.pending[msg.Seq] = msg
	}
}

// drainPending accepts held messages that have become next.
func (n *Node) drainPending(r *room) {
	for {
		msg, ok := r.pending[r.next]
		if !ok {
			break
		}
		delete(r.pending, r.next)
		n.accept(r, msg)
	}
	for seq := range r.pending { // map order: only deletes, nothing reaches output
		if seq < r.next {
			delete(r.pending, seq)
		}
	}
}

// accept delivers the room's next message to every live member and keeps it
// in the recent ring for members that catch up.
func (n *Node) accept(r *room, msg protocol.Msg) {
	if msg.Seq != r.next {
		return
	}
	e := entry{msg: msg, frame: encodeMsg(msg)}
	r.recent.push(e)
	r.next++
	n.mutation.accepted++
	delivered := false
	for _, m := range r.members {
		if !m.live || m.cursor+1 != msg.Seq {
			continue
		}
		s := n.sessions[m.conn]
		if r.catchingUp && s != nil && n.replayBudgetSpent(s) {
			// The rest reaches it from the ring as its connection flushes.
			m.live, m.awaitingFlush, s.replaysAwaitingFlush = false, true, true
			continue
		}
		m.cursor = msg.Seq
		delivered = true
		if n.cfg.Mutation != MutationNone && n.deliverMutated(m, e) {
			continue
		}
		n.deliver(s, e)
	}
	if delivered {
		n.ready.LatenciesMs = append(n.ready.LatenciesMs, n.nowMs-msg.TS)
	}
}

// skipTo moves the room past history that is gone: every live member is
// told with a reset.
func (n *Node) skipTo(r *room, first uint64) {
	r.next = first
	r.recent.reset(first)
	for _, m := range r.members {
		if m.live && m.cursor+1 < first {
			n.resetMember(r, m, first)
		}
	}
	n.drainPending(r)
}

// changeEpoch handles a room whose history was lost with the broker's data:
// seqs restart, and every member is told and starts over from the first
// seq of the new epoch.
func (n *Node) changeEpoch(r *room, epoch string) {
	r.epoch, r.next = epoch, 1
	r.recent.reset(1)
	for seq := range r.pending { // map order: only deletes, nothing reaches output
		delete(r.pending, seq)
	}
	for _, m := range r.members {
		if !m.joinedSent {
			continue
		}
		m.fetching, m.retryAtMs, m.live = false, 0, true
		n.resetMember(r, m, 1)
	}
}

// deliverPubSub is the naive delivery mode: whatever arrives goes to every
// member, in arrival order, with no seq, no gap fill and no history.
func (n *Node) deliverPubSub(r *room, msg protocol.Msg) {
	frame := encodeMsg(msg)
	for _, m := range r.members {
		n.deliver(n.sessions[m.conn], entry{msg: msg, frame: frame})
	}
	if len(r.members) > 0 {
		n.ready.LatenciesMs = append(n.ready.LatenciesMs, n.nowMs-msg.TS)
	}
}
