package client

import "chatlab/system/protocol"

// Receive handles one frame from the node. A frame that does not decode is
// reported as an error event and skipped: the connection still works, and
// a reconnect would not make the node's frames any better.
func (c *Client) Receive(data []byte) {
	frame, err := protocol.DecodeOutbound(data)
	c.ReceiveDecoded(frame, err)
}

// ReceiveDecoded is Receive for a frame the host already decoded with
// protocol.DecodeOutbound (err is that call's error). A host that hands the
// same bytes to many clients — the simulator, where one node frame reaches
// every member of a room — decodes them once.
func (c *Client) ReceiveDecoded(frame protocol.Outbound, err error) {
	c.expectState("Receive", stateConnected, stateClosing)
	c.counters.FramesIn++
	if err != nil {
		c.counters.BadFrames++
		c.event(Event{Kind: KindError, Code: protocol.CodeBadJSON, Message: err.Error()})
		return
	}
	switch frame.Type {
	case protocol.TypeWelcome:
		c.welcome(frame)
	case protocol.TypeJoined:
		if r := c.joinedOf(frame); r != nil {
			c.joinedRoom(r, frame.Head, frame.Epoch)
		}
	case protocol.TypeMsg:
		if r := c.memberOf(frame); r != nil {
			c.deliver(r, frame)
		}
	case protocol.TypeReset:
		if r := c.memberOf(frame); r != nil {
			c.resetRoom(r, frame.FromSeq, frame.Epoch)
		}
	case protocol.TypeAck:
		c.acked(frame)
	case protocol.TypeError:
		c.refused(frame)
	}
}

// welcome marks the connection good: the backoff starts over.
func (c *Client) welcome(frame protocol.Outbound) {
	c.welcomed, c.failures, c.node = true, 0, frame.Node
	c.event(Event{Kind: KindWelcome, Node: frame.Node, From: frame.User})
}

// roomOf finds the room a frame is about. Frames for a room the app left
// (sent by the node before it saw the leave) are counted and dropped.
func (c *Client) roomOf(frame protocol.Outbound) *room {
	r := c.rooms[frame.Room]
	if r == nil {
		c.counters.StrayFrames++
	}
	return r
}

// joinedOf is roomOf for a joined: it starts the membership only if it
// answers the join last sent for it. The joined of an earlier join, one the
// app left and joined again before its answer came (a stalled reader whose
// workload left and rejoined twice), would start the membership at its
// older head, and the new membership, which the node starts at its own
// joined head, would skip what lies between with no reset. It is counted
// and dropped, and so are the old membership's frames behind it (memberOf).
// A joined without a ref (from a node that does not echo one) is taken.
func (c *Client) joinedOf(frame protocol.Outbound) *room {
	r := c.roomOf(frame)
	if r != nil && frame.Ref != "" && frame.Ref != r.joinRef {
		c.counters.StrayFrames++
		return nil
	}
	return r
}

// memberOf is roomOf for a frame of the room's stream (msg, reset): it
// belongs to the membership the connection's joined began. The node sends
// a membership's joined before anything of it, so such a frame ahead of
// the joined comes from an earlier membership: one the app left and joined
// again while the node's frames of the old one were on their way (a leave
// and a join written behind a backlog the client had not read). Taken as
// the new membership's, its seqs would set where the room stands, and the
// new membership, which the node starts at its joined head, would skip
// what lies between with no reset; it is counted and dropped instead.
func (c *Client) memberOf(frame protocol.Outbound) *room {
	r := c.roomOf(frame)
	if r != nil && !r.joined {
		c.counters.StrayFrames++
		return nil
	}
	return r
}

// refused handles an error frame. Unavailable and rate_limited ask for a
// retry of the send they name; draining means a close is coming and sends
// wait for the next connection; any other code on a pending send fails it
// for good.
func (c *Client) refused(frame protocol.Outbound) {
	c.counters.Errors++
	if frame.Code == protocol.CodeDraining {
		c.startDraining()
	}
	at := -1
	if frame.Ref != "" {
		at = c.pendingIndex(frame.Ref)
	}
	if at < 0 {
		c.event(Event{Kind: KindError, Code: frame.Code, Message: frame.Message, ID: frame.Ref})
		return
	}
	p := c.pending[at]
	switch frame.Code {
	case protocol.CodeUnavailable, protocol.CodeRateLimited:
		c.retryLater(p)
		c.event(Event{Kind: KindError, Code: frame.Code, Message: frame.Message, ID: p.id, Room: p.room})
	case protocol.CodeDraining:
		p.inFlight = false
		c.event(Event{Kind: KindError, Code: frame.Code, Message: frame.Message, ID: p.id, Room: p.room})
	default:
		c.fail(p, frame.Code, frame.Message)
	}
}

// startDraining holds sends until the next connection and gives the node
// drainCloseWaitMs to close this one.
func (c *Client) startDraining() {
	if c.draining || c.state != stateConnected {
		return
	}
	c.draining = true
	c.drainCloseAtMs = c.nowMs + drainCloseWaitMs
}
