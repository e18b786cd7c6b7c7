package node

import (
	"fmt"

	"chatlab/system/protocol"
)

// join makes a session a member of a room. A repeated join of the same room
// starts the membership over from the new since.
func (n *Node) join(s *session, in protocol.Inbound) {
	if !s.access.mayJoin(in.Room) {
		n.counters.Rejects++
		n.send(s.conn, protocol.Error{Type: protocol.TypeError, Code: protocol.CodeForbidden, Ref: in.Room,
			Message: "your credentials do not grant this room"})
		return
	}
	if n.rooms[in.Room] == nil && n.cfg.Delivery == Recover && !n.admitBrokerCall(s, in.Room) {
		return // a new room costs a fetch, over this connection's share
	}
	if s.member(in.Room) {
		n.removeMember(in.Room, s.conn)
		s.removeRoom(in.Room)
	}
	if len(s.rooms) >= protocol.RoomsPerConnectionMax {
		n.counters.Rejects++
		n.send(s.conn, protocol.Error{Type: protocol.TypeError, Code: protocol.CodeTooManyRooms, Ref: in.Room,
			Message: fmt.Sprintf("a connection may be in at most %d rooms", protocol.RoomsPerConnectionMax)})
		return
	}
	s.rooms = append(s.rooms, in.Room)
	r := n.rooms[in.Room]
	if r == nil {
		r = n.openRoom(in.Room)
	}
	m := &member{conn: s.conn, hasSince: in.HasSince, since: in.Since, epoch: in.Epoch, ref: in.Ref}
	r.members = append(r.members, m)
	if n.cfg.Delivery == PubSub {
		m.live, m.joinedSent = true, true
		n.send(s.conn, protocol.Joined{Type: protocol.TypeJoined, Room: r.name, Ref: m.ref})
		return
	}
	if r.synced {
		n.attach(r, m)
	}
}

// openRoom starts following a room: subscribe, then learn its head.
func (n *Node) openRoom(name string) *room {
	n.roomGeneration++
	r := &room{name: name, generation: n.roomGeneration, pending: map[uint64]protocol.Msg{}}
	n.rooms[name] = r
	n.addRoomName(name)
	n.ready.Subscribes = append(n.ready.Subscribes, name)
	if n.cfg.Delivery == Recover {
		r.recent = newRing(n.cfg.RecentLenMax, 0)
		n.fetchRoom(r)
	}
	return r
}

// attach starts a member's delivery once the room's head is known: joined,
// then any replay after since, then live messages.
func (n *Node) attach(r *room, m *member) {
	m.joinedSent = true
	n.send(m.conn, protocol.Joined{Type: protocol.TypeJoined, Room: r.name, Head: r.head(), Epoch: r.epoch, Ref: m.ref})
	switch {
	case !m.hasSince, n.cfg.Mutation == MutationIgnoreSince:
		m.cursor, m.live = r.head(), true
	case m.epoch != "" && m.epoch != r.epoch:
		// The member's seqs belong to a history that is gone: everything of
		// the current epoch is new to it.
		n.resetMember(r, m, 1)
		n.catchUp(r, m)
	case m.since > r.head():
		// The member saw more than this node knows of: the node is behind
		// (the fetch will tell), or the member's seqs are from a lost
		// history (the fetch's head will tell).
		m.cursor = m.since
		n.fetchMember(r, m)
	default:
		m.cursor = m.since
		n.catchUp(r, m)
	}
}

// leave ends a session's membership of a room.
func (n *Node) leave(s *session, name string) {
	if !s.member(name) {
		n.counters.Rejects++
		n.send(s.conn, protocol.Error{Type: protocol.TypeError, Code: protocol.CodeNotMember, Ref: name,
			Message: "leave of a room not joined"})
		return
	}
	s.removeRoom(name)
	n.removeMember(name, s.conn)
}

// removeMember drops a connection from a room and stops following a room
// that has no members left.
func (n *Node) removeMember(name string, conn ConnID) {
	r := n.rooms[name]
	if r == nil {
		return
	}
	for i, m := range r.members {
		if m.conn == conn {
			r.members = append(r.members[:i], r.members[i+1:]...)
			break
		}
	}
	if len(r.members) > 0 {
		return
	}
	delete(n.rooms, name)
	n.removeRoomName(name)
	n.ready.Unsubscribes = append(n.ready.Unsubscribes, name)
}

// resetMember tells a member that the seqs before from are gone.
func (n *Node) resetMember(r *room, m *member, from uint64) {
	n.counters.Resets++
	m.cursor, m.resetOwed = from-1, false
	n.send(m.conn, protocol.Reset{Type: protocol.TypeReset, Room: r.name, From: from, Epoch: r.epoch})
}

// catchUp delivers to a member what the room's recent ring holds after its
// cursor and makes it live, or fetches from history what the ring no longer
// holds. A replay is paced by the connection's flushes: it stops at the
// replay budget and goes on when the runtime reports frames written, so a
// long resume never trips the slow-consumer limit by itself.
func (n *Node) catchUp(r *room, m *member) {
	if m.cursor >= r.head() {
		m.live = true
		return
	}
	if r.recent.count == 0 || m.cursor+1 < r.recent.first {
		n.fetchMember(r, m)
		return
	}
	n.deliverRecent(r, m)
}

// deliverRecent sends a member the messages from its cursor to the room's
// head out of the ring, as far as the replay budget allows, and makes it
// live once it is at the head.
func (n *Node) deliverRecent(r *room, m *member) {
	s := n.sessions[m.conn]
	for m.cursor < r.head() {
		if s == nil || s.cut {
			return // cut off as a slow consumer: it resumes elsewhere
		}
		if n.replayBudgetSpent(s) {
			m.awaitingFlush, s.replaysAwaitingFlush = true, true
			return
		}
		e, ok := r.recent.get(m.cursor + 1)
		if !ok {
			panic(fmt.Sprintf("node: room %s ring lacks seq %d below head %d", r.name, m.cursor+1, r.head()))
		}
		m.cursor++
		n.deliver(s, e)
	}
	m.live = true
}

// replayBudgetSpent reports whether a session has as many frames unwritten
// as a replay may leave it: half its send queue, the rest kept for live
// messages, acks and errors.
func (n *Node) replayBudgetSpent(s *session) bool {
	return s.unflushed >= max(1, n.cfg.SendQueueLenMax/2)
}

// resumeReplays goes on with a session's paced replays after a flush.
func (n *Node) resumeReplays(s *session) {
	if !s.replaysAwaitingFlush {
		return
	}
	s.replaysAwaitingFlush = false
	for _, name := range s.rooms {
		r := n.rooms[name]
		if r == nil {
			continue
		}
		if m := r.member(s.conn); m != nil && m.awaitingFlush {
			m.awaitingFlush = false
			n.catchUp(r, m)
		}
	}
}

func (n *Node) deliver(s *session, e entry) {
	if s == nil {
		return
	}
	n.counters.Deliveries++
	if len(s.holds) > 0 {
		landed(s, e.msg)
	}
	n.sendData(s, e.frame)
}
