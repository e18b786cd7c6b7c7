package node

import (
	"fmt"

	"chatlab/system/protocol"
)

// pendingPublish remembers which connection's send a publish carries.
type pendingPublish struct {
	conn ConnID
	room string
	id   string
	from string
	body string
	ts   int64
}

// sendMessage turns a client's send into a broker publish, or refuses it
// with an error frame that names the send id.
func (n *Node) sendMessage(s *session, in protocol.Inbound) {
	refuse := func(code protocol.Code, message string) {
		n.send(s.conn, protocol.Error{Type: protocol.TypeError, Code: code, Message: message, Ref: in.ID})
	}
	retryLater := func(code protocol.Code, message string) {
		refuse(code, message)
		n.holdRoom(s.conn, in.Room, in.ID)
	}
	switch {
	case !s.member(in.Room):
		n.counters.Rejects++
		refuse(protocol.CodeNotMember, fmt.Sprintf("send to room %q, which this connection has not joined", in.Room))
	case n.draining:
		refuse(protocol.CodeDraining, "node is draining: reconnect elsewhere and resend")
	case !n.passHold(s, in):
	case !n.brokerUp:
		retryLater(protocol.CodeUnavailable, "broker unreachable: resend the same id later")
	case len(n.publishes) >= publishesInFlightMax:
		retryLater(protocol.CodeUnavailable, "node is saturated: resend the same id later")
	case !n.takeToken(s):
		n.counters.RateLimited++
		retryLater(protocol.CodeRateLimited, fmt.Sprintf("more than %d sends per second: resend the same id later", n.cfg.RatePerSecond))
	case !n.admitBrokerCall(s, in.ID):
		n.holdRoom(s.conn, in.Room, in.ID)
	default:
		n.startBrokerCall(s.access.User)
		request := n.nextRequest()
		n.publishes[request] = pendingPublish{conn: s.conn, room: in.Room, id: in.ID, from: s.access.User, body: in.Body, ts: n.nowMs}
		n.counters.Publishes++
		n.issuePublish(PublishRequest{Request: request, Room: in.Room, ID: in.ID,
			From: s.access.User, Body: in.Body, TS: n.nowMs, EpochCandidate: n.epochCandidate()})
	}
}

// Published takes the broker's reply to a publish: the sender gets its ack
// (or an error to retry on), and in recover mode the node places the message
// itself, so its own members never depend on pub/sub for it.
func (n *Node) Published(request RequestID, reply PublishReply, err error) {
	p, ok := n.publishes[request]
	if !ok {
		return
	}
	delete(n.publishes, request)
	n.endBrokerCall(p.from)
	s := n.sessions[p.conn]
	if err != nil {
		if s != nil {
			n.send(p.conn, protocol.Error{Type: protocol.TypeError, Code: protocol.CodeUnavailable, Ref: p.id,
				Message: "publish failed: resend the same id later"})
		}
		n.publishDone(p, true)
		return
	}
	n.publishDone(p, false)
	if reply.Conflict {
		// Acking would tell the sender its new body landed; it did not.
		if s != nil {
			n.send(p.conn, protocol.Error{Type: protocol.TypeError, Code: protocol.CodeIDConflict, Ref: p.id,
				Message: fmt.Sprintf("id %q was already used for another message (seq %d): send this one with a new id", p.id, reply.Seq)})
		}
		return
	}
	if s != nil {
		n.send(p.conn, protocol.Ack{Type: protocol.TypeAck, Room: p.room, ID: p.id, Seq: reply.Seq})
	}
	r := n.rooms[p.room]
	if r == nil || n.cfg.Delivery != Recover {
		return
	}
	if reply.Duplicate {
		if r.synced && reply.Seq >= r.next {
			n.fetchRoom(r) // the original landed but never reached this node
		}
		return
	}
	n.arrive(r, protocol.Msg{Type: protocol.TypeMsg, Room: p.room, Seq: reply.Seq, ID: p.id, From: p.from,
		Body: p.body, TS: p.ts, Epoch: reply.Epoch})
}

// BrokerUp reports the broker link (re)established with every subscription
// in place: each room catches up on what pub/sub lost meanwhile.
func (n *Node) BrokerUp() {
	n.brokerUp, n.brokerDownKnown, n.brokerLost = true, false, false
	if n.cfg.Delivery != Recover {
		return
	}
	for _, name := range n.roomNames {
		n.fetchRoom(n.rooms[name])
	}
}

// BrokerDown reports the broker link lost: sends are refused as unavailable
// until BrokerUp, and once it has been down Config.BrokerLostGraceMs
// (counted by Tick) every connection is closed with 4000 and new ones are
// refused so.
func (n *Node) BrokerDown() {
	if n.brokerUp {
		n.brokerDownAtMs, n.brokerDownKnown = n.nowMs, true
	}
	n.brokerUp = false
}

// BrokerLost reports whether the broker link has been down longer than
// Config.BrokerLostGraceMs: the node serves no clients until BrokerUp.
func (n *Node) BrokerLost() bool { return n.brokerLost }

// brokerDownTick runs the broker-lost grace while the link is down: once
// it has passed, every connection is closed with 4000 (reconnect) so that
// its client resumes on a node that can deliver to it.
func (n *Node) brokerDownTick() {
	if !n.brokerDownKnown {
		n.brokerDownAtMs, n.brokerDownKnown = n.nowMs, true // a new node: down from its first Tick
	}
	if n.brokerLost || n.cfg.BrokerLostGraceMs < 0 || n.nowMs-n.brokerDownAtMs < n.cfg.BrokerLostGraceMs {
		return
	}
	n.brokerLost = true
	n.closeAll(protocol.CloseReconnect, protocol.ReasonBrokerLost)
}

// BrokerIsUp reports the broker link state as last told.
func (n *Node) BrokerIsUp() bool { return n.brokerUp }
