package node

import (
	"fmt"
	"slices"

	"chatlab/system/protocol"
)

// A sender's messages take seqs in the order it sent them. Three rules keep
// that order across refusals and failed publishes:
//   - at most one publish of a sender in a room is in flight: the others
//     wait behind it (publishOrders), so that replies coming back in any
//     order cannot let a later one take a seq first;
//   - when that publish fails, the ones waiting behind it fail with it:
//     the client resends them all, in order;
//   - once a send of a room is refused with a code that asks for a retry,
//     the connection's later sends of that room are refused too until the
//     refused one comes again (a roomHold), so that a send the client had
//     already written behind it cannot take a seq ahead of it. A refused
//     send that lands after all (a publish given up on that reached the
//     broker) is let go when its message reaches the connection, as the
//     client takes it as the ack and will not send it again: the hold
//     waits for the next send refused behind it, or ends.

// publishOrder names a sender's sequence of publishes in a room (a struct
// key: no string built per message).
type publishOrder struct{ room, from string }

func orderOf(room, from string) publishOrder { return publishOrder{room, from} }

// issuePublish hands a publish to the runtime, or queues it behind the one
// of its order in flight.
func (n *Node) issuePublish(request PublishRequest) {
	order := orderOf(request.Room, request.From)
	if waiting, busy := n.publishOrders[order]; busy {
		n.publishOrders[order] = append(waiting, request)
		return
	}
	n.publishOrders[order] = nil
	n.ready.Publishes = append(n.ready.Publishes, request)
}

// publishDone releases the order of a publish answered: the next one goes
// out, or, when it failed, every one waiting behind it fails too.
func (n *Node) publishDone(p pendingPublish, failed bool) {
	order := orderOf(p.room, p.from)
	waiting, busy := n.publishOrders[order]
	if !busy {
		return
	}
	if !failed && len(waiting) > 0 {
		n.publishOrders[order] = waiting[1:]
		n.ready.Publishes = append(n.ready.Publishes, waiting[0])
		return
	}
	delete(n.publishOrders, order)
	if !failed {
		return
	}
	n.holdRoom(p.conn, p.room, p.id)
	for _, request := range waiting {
		behind, ok := n.publishes[request.Request]
		if !ok {
			continue
		}
		delete(n.publishes, request.Request)
		n.endBrokerCall(behind.from)
		n.send(behind.conn, protocol.Error{Type: protocol.TypeError, Code: protocol.CodeUnavailable, Ref: behind.id,
			Message: fmt.Sprintf("an earlier send of this room (%q) failed: resend both, in order, later", p.id)})
		n.holdRoom(behind.conn, behind.room, behind.id)
	}
}

// roomHold is a room of a connection whose send id was refused with a
// retry code: later sends of the room are refused until id comes again.
// One of those refused sends coming again also ends the hold: its client
// gave id up.
type roomHold struct {
	room   string
	id     string
	behind []string
}

// roomHoldBehindMax bounds the sends a hold remembers refusing.
const roomHoldBehindMax = 64

// holdRoom records that conn's send id in room was refused with a retry
// code. A hold already in place stays on its first id; id joins the sends
// refused behind it.
func (n *Node) holdRoom(conn ConnID, room, id string) {
	s := n.sessions[conn]
	if s == nil {
		return
	}
	for i := range s.holds {
		if h := &s.holds[i]; h.room == room {
			if h.id != id && len(h.behind) < roomHoldBehindMax {
				h.behind = append(h.behind, id)
			}
			return
		}
	}
	s.holds = append(s.holds, roomHold{room: room, id: id})
}

// passHold reports whether a send may go on past its room's hold, ending
// the hold when the send is the refused one (or one refused behind it)
// coming again; a send that may not is refused, and remembered.
func (n *Node) passHold(s *session, in protocol.Inbound) bool {
	for i := range s.holds {
		h := &s.holds[i]
		if h.room != in.Room {
			continue
		}
		if in.ID == h.id || slices.Contains(h.behind, in.ID) {
			s.holds = append(s.holds[:i], s.holds[i+1:]...)
			return true
		}
		if len(h.behind) < roomHoldBehindMax {
			h.behind = append(h.behind, in.ID)
		}
		n.send(s.conn, protocol.Error{Type: protocol.TypeError, Code: protocol.CodeUnavailable, Ref: in.ID,
			Message: fmt.Sprintf("an earlier send of this room (%q) was refused: resend it first, then this one", h.id)})
		return false
	}
	return true
}

// landed moves the hold of msg's room on when msg is a send it holds for,
// come back to its sender's connection: an attempt the node gave up on
// reached the broker after all, and the client takes the message as its
// ack, so that id will not come again. The hold then waits for the first
// send refused behind it (the client resends those in order), and ends
// when there is none.
func landed(s *session, msg protocol.Msg) {
	if msg.From != s.access.User {
		return
	}
	for i := range s.holds {
		h := &s.holds[i]
		if h.room != msg.Room {
			continue
		}
		switch {
		case h.id == msg.ID && len(h.behind) == 0:
			s.holds = append(s.holds[:i], s.holds[i+1:]...)
		case h.id == msg.ID:
			h.id, h.behind = h.behind[0], h.behind[1:]
		default:
			h.behind = slices.DeleteFunc(h.behind, func(id string) bool { return id == msg.ID })
		}
		return
	}
}

// holdDropped holds the room of a send dropped unread over the frame
// allowance, as a refusal would: its client resends it when no answer
// comes, and a later send of the room must not take a seq ahead of it.
func (n *Node) holdDropped(s *session, data []byte) {
	if len(data) > protocol.FrameBytesMax {
		return
	}
	if in, reject := protocol.Decode(data); reject == nil && in.Type == protocol.TypeSend {
		n.holdRoom(s.conn, in.Room, in.ID)
	}
}
