package node

import "chatlab/system/protocol"

// pendingFetch remembers what a fetch was for: the room's catch-up (conn 0)
// or one member's replay.
type pendingFetch struct {
	room       string
	generation uint64
	conn       ConnID
	afterSeq   uint64
	// epoch is the room's epoch when the fetch was asked: a room fetch
	// answered after the room changed epoch was asked from a position that
	// no longer exists.
	epoch string
	// owner is the user whose frame caused the fetch ("": the node's
	// own), whose share of broker calls it counts against.
	owner string
}

// fetchRoom asks the broker for what the room missed after its last
// delivered seq. Before the room is synced it wants the head alone; a fetch
// carries at least one message, which sync ignores.
func (n *Node) fetchRoom(r *room) {
	if r.fetching {
		return
	}
	r.fetching = true
	r.fetchAtMs = n.nowMs + n.cfg.RoomPollIntervalMs
	after, limit := r.head(), n.cfg.FetchLimit
	if !r.synced {
		after, limit = 0, 1
	}
	n.requestFetch(pendingFetch{room: r.name, generation: r.generation, afterSeq: after, epoch: r.epoch}, limit)
}

// fetchMember asks the broker for a member's replay after its cursor.
func (n *Node) fetchMember(r *room, m *member) {
	if m.fetching {
		return
	}
	m.fetching, m.live = true, false
	n.requestFetch(pendingFetch{room: r.name, generation: r.generation, conn: m.conn, afterSeq: m.cursor}, n.cfg.FetchLimit)
}

func (n *Node) requestFetch(p pendingFetch, limit int) {
	if n.caller != nil {
		p.owner = n.caller.access.User
		n.startBrokerCall(p.owner)
	}
	request := n.nextRequest()
	n.fetches[request] = p
	n.counters.Fetches++
	n.ready.Fetches = append(n.ready.Fetches, FetchRequest{Request: request, Room: p.room, AfterSeq: p.afterSeq,
		Limit: limit, EpochCandidate: n.epochCandidate()})
}

// Fetched takes the broker's reply to a fetch. A failed fetch is retried
// after FetchRetryMs.
func (n *Node) Fetched(request RequestID, reply FetchReply, err error) {
	p, ok := n.fetches[request]
	if !ok {
		return
	}
	delete(n.fetches, request)
	n.endBrokerCall(p.owner)
	r := n.rooms[p.room]
	if r == nil || r.generation != p.generation {
		return // the room was left and maybe rejoined since: a new fetch is on its way
	}
	if p.conn == 0 {
		r.fetching = false
		if err != nil {
			r.fetchAtMs = n.nowMs + n.cfg.FetchRetryMs
			return
		}
		if r.synced && p.epoch != r.epoch {
			// The room changed epoch while this fetch was out (a live
			// message of the new epoch reset it): the reply answers a
			// position under the old one. Ask again from where the room is
			// now, or what the new epoch holds waits for the next poll.
			n.fetchRoom(r)
			return
		}
		n.roomFetched(r, reply)
		return
	}
	m := r.member(p.conn)
	if m == nil || !m.fetching || m.cursor != p.afterSeq {
		return
	}
	m.fetching = false
	if err != nil {
		m.retryAtMs = n.nowMs + n.cfg.FetchRetryMs
		return
	}
	n.memberFetched(r, m, reply)
}

// roomFetched applies a room catch-up reply: sync on the first one, then
// accept what was missed, noting history that is gone.
func (n *Node) roomFetched(r *room, reply FetchReply) {
	if !r.synced {
		n.sync(r, reply)
		return
	}
	if reply.Epoch != r.epoch {
		n.changeEpoch(r, reply.Epoch)
		n.fetchRoom(r)
		return
	}
	// A fetch's window is (after, after+limit]: when the oldest held seq is
	// beyond it, the reply has no messages although history holds the rest.
	skipped := reply.First > r.next
	if skipped {
		n.skipTo(r, reply.First)
	}
	r.catchingUp = true
	for _, msg := range reply.Messages {
		n.accept(r, msg)
	}
	r.catchingUp = false
	if reply.Head >= r.next && (len(reply.Messages) > 0 || skipped) {
		n.fetchRoom(r) // more than one fetch's worth was missed
	}
}

// sync sets the room's position from its first reply, starts every member
// waiting on it, then drains what arrived meanwhile.
func (n *Node) sync(r *room, reply FetchReply) {
	r.synced, r.epoch, r.next = true, reply.Epoch, reply.Head+1
	r.recent.reset(r.next)
	for _, m := range r.members {
		if !m.joinedSent {
			n.attach(r, m)
		}
	}
	n.drainPending(r)
	if len(r.pending) > 0 {
		n.fetchRoom(r)
	}
}

// memberFetched applies one member's replay reply.
func (n *Node) memberFetched(r *room, m *member, reply FetchReply) {
	if reply.Epoch != r.epoch {
		// The room's epoch moved under the member: the room's own catch-up
		// finds it and resets every member; this replay waits for that.
		n.fetchRoom(r)
		m.retryAtMs = n.nowMs + n.cfg.FetchRetryMs
		return
	}
	if reply.Head > r.head() {
		n.fetchRoom(r) // the room itself is behind its history
	}
	// from is where the member goes on: after its cursor, from 1 when it
	// claims seqs the room never had in this epoch, and never below the
	// oldest seq history still holds.
	from, reset := m.cursor+1, m.resetOwed
	if m.cursor > reply.Head {
		from, reset = 1, true
	}
	if reply.First > from {
		from, reset = reply.First, true
	}
	if reset {
		if len(reply.Messages) == 0 && from <= reply.Head && !(r.recent.count > 0 && from >= r.recent.first) {
			// A fetch's window is (cursor, cursor+limit]: this one lay
			// below history, which holds everything from First on. Fetch
			// that before telling the member where it resumes, so that a
			// trim meanwhile costs it one reset, not two.
			m.cursor, m.resetOwed = from-1, true
			n.fetchMember(r, m)
			return
		}
		n.resetMember(r, m, from)
	}
	s := n.sessions[m.conn]
	for _, msg := range reply.Messages {
		if s == nil || s.cut {
			return
		}
		if n.replayBudgetSpent(s) {
			// The rest of this reply is fetched again once the connection
			// has written what it was given.
			m.awaitingFlush, s.replaysAwaitingFlush = true, true
			return
		}
		if msg.Seq != m.cursor+1 {
			continue
		}
		m.cursor = msg.Seq
		n.deliver(s, entry{msg: msg, frame: encodeMsg(msg)})
	}
	if s == nil || s.cut {
		return
	}
	switch {
	case m.cursor >= r.head():
		m.live = true
	case r.recent.count > 0 && m.cursor+1 >= r.recent.first:
		n.deliverRecent(r, m)
	case len(reply.Messages) > 0, reset:
		n.fetchMember(r, m)
	default:
		// History holds nothing between the member and the ring: what the
		// ring lacks is gone.
		n.resetMember(r, m, r.recent.first)
		n.deliverRecent(r, m)
	}
}

// tick runs a room's due history poll and member retries.
func (r *room) tick(n *Node) {
	if !r.fetching && n.nowMs >= r.fetchAtMs {
		n.fetchRoom(r)
	}
	for _, m := range r.members {
		if !m.fetching && m.retryAtMs != 0 && n.nowMs >= m.retryAtMs {
			m.retryAtMs = 0
			n.fetchMember(r, m)
		}
	}
}

func encodeMsg(msg protocol.Msg) []byte {
	msg.Type = protocol.TypeMsg
	return protocol.Encode(msg)
}
