package node

import (
	"fmt"
	"sort"

	"chatlab/system/protocol"
)

// session is one client connection.
type session struct {
	conn  ConnID
	rooms []string // the rooms joined, in join order; at most RoomsPerConnectionMax
	// unflushed counts frames handed to the runtime but not yet written.
	unflushed int
	// cut is set when the session overflowed its send queue; it gets no
	// more frames and is closed at the next Ready.
	cut bool
	// replaysAwaitingFlush is set while a member of this session waits for
	// a flush to go on with its replay.
	replaysAwaitingFlush bool
	// sends is the allowance for sends, refilled from the clock at each
	// send rather than on every tick.
	sends tokenBucket
	// frames is the allowance for frames of every type; refusedInARow
	// counts the frames refused since the last one handled; patience is
	// how many more refusals the session may earn before it is closed.
	frames        tokenBucket
	refusedInARow int
	patience      tokenBucket
	// holds are the rooms whose sends wait for a refused one to come
	// again, so that none takes a seq ahead of it.
	holds []roomHold
	// access is what the connection's credentials allow, its user among
	// them.
	access Access
}

// Access is what a connection's credentials allow, as its host verified
// them (a signed token's claims, or the host's policy without one).
type Access struct {
	User string
	// AnyRoom lets the connection join every room; otherwise it may join
	// only the rooms that Rooms (names and protocol.MatchRoom patterns)
	// grant, and a join of another is refused with forbidden.
	AnyRoom bool
	Rooms   []string
	// ExpiresAtMs is when the credentials expire, on the node's clock (the
	// host's Tick time); 0: never. At that time the connection is closed
	// with protocol.CloseTokenExpired: the client reconnects with a fresh
	// token and resumes.
	ExpiresAtMs int64
}

// mayJoin reports whether the access grants room.
func (a *Access) mayJoin(room string) bool {
	if a.AnyRoom {
		return true
	}
	for _, pattern := range a.Rooms {
		if protocol.MatchRoom(pattern, room) {
			return true
		}
	}
	return false
}

// Open accepts a connection for user, free to join any room: OpenAccess
// for a host without room grants.
func (n *Node) Open(conn ConnID, user string) {
	n.OpenAccess(conn, Access{User: user, AnyRoom: true})
}

// OpenAccess accepts a connection with what its credentials allow and
// greets it. A draining node, and one whose broker has been lost longer
// than its grace, refuses it with the reconnect close code.
func (n *Node) OpenAccess(conn ConnID, access Access) {
	if _, exists := n.sessions[conn]; exists {
		panic(fmt.Sprintf("node: connection %d opened twice", conn))
	}
	s := &session{conn: conn, access: access,
		sends:  newTokenBucket(n.cfg.RateBurst, n.nowMs),
		frames: newTokenBucket(n.cfg.FrameBurst, n.nowMs), patience: newTokenBucket(n.cfg.FrameBurst, n.nowMs)}
	n.sessions[conn] = s
	switch {
	case n.draining:
		n.closeSession(s, protocol.CloseReconnect, reasonDraining)
		return
	case n.brokerLost:
		n.closeSession(s, protocol.CloseReconnect, protocol.ReasonBrokerLost)
		return
	}
	if access.ExpiresAtMs != 0 {
		if access.ExpiresAtMs <= n.nowMs {
			n.closeSession(s, protocol.CloseTokenExpired, reasonTokenExpired)
			return
		}
		if n.expiryNextMs == 0 || access.ExpiresAtMs < n.expiryNextMs {
			n.expiryNextMs = access.ExpiresAtMs
		}
	}
	n.send(conn, protocol.Welcome{Type: protocol.TypeWelcome, Node: n.cfg.ID, User: access.User})
}

// Receive handles one text frame from a connection. A malformed frame gets
// an error frame and the connection keeps working; an oversized one closes
// it with 1009, as the real runtime's read limit does.
func (n *Node) Receive(conn ConnID, data []byte) {
	s := n.sessions[conn]
	if s == nil {
		return
	}
	n.counters.FramesIn++
	if !n.admitFrame(s) {
		n.holdDropped(s, data)
		return
	}
	if len(data) > protocol.FrameBytesMax {
		n.counters.Rejects++
		n.closeSession(s, protocol.CloseMessageTooBig, "frame too large")
		return
	}
	in, reject := protocol.Decode(data)
	if reject != nil {
		n.counters.Rejects++
		n.send(conn, reject.Frame())
		return
	}
	refused := s.refusedInARow
	n.caller = s
	switch in.Type {
	case protocol.TypeJoin:
		n.join(s, in)
	case protocol.TypeLeave:
		n.leave(s, in.Room)
	case protocol.TypeSend:
		n.sendMessage(s, in)
	}
	n.caller = nil
	if s.refusedInARow == refused {
		s.refusedInARow = 0
	}
}

const reasonTokenExpired = "token expired: reconnect with a fresh token and resume"

// expireSessions closes, with protocol.CloseTokenExpired, every session
// whose credentials expired by now. It looks only when the earliest expiry
// is due, and then finds the next one.
func (n *Node) expireSessions() {
	if n.expiryNextMs == 0 || n.nowMs < n.expiryNextMs {
		return
	}
	var expired []ConnID
	n.expiryNextMs = 0
	for conn, s := range n.sessions { // map order: expired is sorted below, the minimum needs no order
		switch at := s.access.ExpiresAtMs; {
		case at == 0:
		case at <= n.nowMs:
			expired = append(expired, conn)
		case n.expiryNextMs == 0 || at < n.expiryNextMs:
			n.expiryNextMs = at
		}
	}
	sort.Slice(expired, func(i, j int) bool { return expired[i] < expired[j] })
	for _, conn := range expired {
		n.closeSession(n.sessions[conn], protocol.CloseTokenExpired, reasonTokenExpired)
	}
}

// Closed forgets a connection that is gone, from either side.
func (n *Node) Closed(conn ConnID) {
	if s := n.sessions[conn]; s != nil {
		n.forget(s)
	}
}

// Flushed reports that the runtime wrote frames of a connection.
func (n *Node) Flushed(conn ConnID, frames int) {
	s := n.sessions[conn]
	if s == nil {
		return
	}
	s.unflushed -= frames
	if s.unflushed < 0 {
		panic(fmt.Sprintf("node: connection %d flushed more frames than it was given", conn))
	}
	n.resumeReplays(s)
}

// Drain closes every connection with the reconnect close code and refuses
// new ones: the node is going away and its clients should resume elsewhere.
func (n *Node) Drain() {
	n.draining = true
	n.closeAll(protocol.CloseReconnect, reasonDraining)
}

const reasonDraining = "draining: reconnect elsewhere"

// closeAll closes every session, in connection order.
func (n *Node) closeAll(code int, reason string) {
	conns := make([]ConnID, 0, len(n.sessions))
	for conn := range n.sessions { // map order: sorted below
		conns = append(conns, conn)
	}
	sort.Slice(conns, func(i, j int) bool { return conns[i] < conns[j] })
	for _, conn := range conns {
		n.closeSession(n.sessions[conn], code, reason)
	}
}

// Draining reports whether Drain was called.
func (n *Node) Draining() bool { return n.draining }

func (n *Node) closeSession(s *session, code int, reason string) {
	n.ready.Closes = append(n.ready.Closes, CloseConn{Conn: s.conn, Code: code, Reason: reason})
	n.forget(s)
}

func (n *Node) forget(s *session) {
	delete(n.sessions, s.conn)
	for _, name := range s.rooms {
		n.removeMember(name, s.conn)
	}
	s.rooms = nil
}

// takeToken spends one send from the session's allowance.
func (n *Node) takeToken(s *session) bool {
	return s.sends.take(n.nowMs, n.cfg.RateBurst, n.cfg.RatePerSecond)
}

func (s *session) member(room string) bool {
	for _, name := range s.rooms {
		if name == room {
			return true
		}
	}
	return false
}

func (s *session) removeRoom(room string) {
	for i, name := range s.rooms {
		if name == room {
			s.rooms = append(s.rooms[:i], s.rooms[i+1:]...)
			return
		}
	}
}
