package client

import (
	"errors"
	"fmt"
	"strconv"

	"chatlab/system/protocol"
)

// Errors from Send: the app asked for something the client cannot do now
// or the node would refuse.
var (
	ErrNotJoined        = errors.New("client: send in a room not joined")
	ErrEmptyBody        = errors.New("client: send with an empty body")
	ErrBodyTooLong      = fmt.Errorf("client: send body over %d bytes", protocol.BodyBytesMax)
	ErrPendingSendsFull = errors.New("client: too many unacked sends")
)

// pendingSend is a send not yet acked.
type pendingSend struct {
	id   string
	room string
	// frame is encoded once and written again on each resend.
	frame []byte
	// attempts counts transmissions, across connections.
	attempts int
	// inFlight is true when the send went out on the current connection and
	// awaits an answer until resendAtMs.
	inFlight   bool
	resendAtMs int64
}

// Send queues body for room under a new id and transmits it now if
// connected. It stays pending until acked; the id is returned so the app
// can match the Acked or SendFailed event.
func (c *Client) Send(roomName, body string) (id string, err error) {
	switch {
	case c.rooms[roomName] == nil:
		return "", ErrNotJoined
	case body == "":
		return "", ErrEmptyBody
	case len(body) > protocol.BodyBytesMax:
		return "", ErrBodyTooLong
	case len(c.pending) >= c.cfg.PendingSendsMax:
		return "", ErrPendingSendsFull
	}
	c.sendCounter++
	id = c.cfg.Name + "-" + strconv.FormatUint(c.sendCounter, 10)
	p := &pendingSend{id: id, room: roomName,
		frame: protocol.Encode(protocol.Send{Type: protocol.TypeSend, Room: roomName, ID: id, Body: body})}
	c.pending = append(c.pending, p)
	c.event(Event{Kind: KindSent, ID: id, Room: roomName, Body: body})
	if c.online() && !c.draining {
		c.transmit(p)
	}
	return id, nil
}

// transmitAll sends every pending send on a fresh connection, in id order.
func (c *Client) transmitAll() {
	for i := 0; i < len(c.pending); {
		if c.transmit(c.pending[i]) {
			i++
		}
	}
}

// resendDue resends every in-flight send whose answer is overdue.
func (c *Client) resendDue() {
	for i := 0; i < len(c.pending); {
		p := c.pending[i]
		if p.inFlight && c.nowMs >= p.resendAtMs && !c.transmit(p) {
			continue
		}
		i++
	}
}

// resendDeadline is the earliest resend due on this connection.
func (c *Client) resendDeadline() (atMs int64, ok bool) {
	for _, p := range c.pending {
		if p.inFlight && (!ok || p.resendAtMs < atMs) {
			atMs, ok = p.resendAtMs, true
		}
	}
	return atMs, ok
}

// transmit writes a pending send, or fails it when it has used up its
// attempts. It reports whether the send is still pending.
func (c *Client) transmit(p *pendingSend) bool {
	if p.attempts >= c.cfg.SendAttemptsMax {
		c.fail(p, "", fmt.Sprintf("no ack after %d attempts", p.attempts))
		return false
	}
	if p.attempts > 0 {
		c.counters.Resends++
		c.event(Event{Kind: KindResent, ID: p.id, Room: p.room})
	}
	p.attempts++
	p.inFlight, p.resendAtMs = true, c.nowMs+c.cfg.ResendAfterMs
	c.write(p.frame)
	return true
}

// retryLater answers a refusal that asks for a retry (unavailable,
// rate_limited): the resend waits between half and all of ResendAfterMs,
// at random, so that sends refused together are not all retried together.
func (c *Client) retryLater(p *pendingSend) {
	half := c.cfg.ResendAfterMs / 2
	p.inFlight, p.resendAtMs = true, c.nowMs+half+c.jitterMs(c.cfg.ResendAfterMs-half)
}

// acked completes a pending send. An ack for an id not pending is the
// answer to a resend of a send already acked: it is only counted.
func (c *Client) acked(ack protocol.Outbound) {
	at := c.pendingIndex(ack.ID)
	if at < 0 {
		c.counters.DuplicateAcks++
		return
	}
	c.removePending(at)
	c.event(Event{Kind: KindAcked, ID: ack.ID, Room: ack.Room, Seq: ack.Seq})
}

// ownDelivered completes a pending send that came back as a msg before its
// ack: the message was applied, so a resend must not go out. It matters
// when the broker loses its data after applying a send whose ack was lost:
// a resend would be applied again, in the new epoch, and delivered twice.
func (c *Client) ownDelivered(m protocol.Outbound) {
	if at := c.pendingIndex(m.ID); at >= 0 {
		c.removePending(at)
		c.event(Event{Kind: KindAcked, ID: m.ID, Room: m.Room, Seq: m.Seq})
	}
}

// fail gives a send up.
func (c *Client) fail(p *pendingSend, code protocol.Code, message string) {
	c.counters.SendsFailed++
	c.removePending(c.pendingIndex(p.id))
	c.event(Event{Kind: KindSendFailed, ID: p.id, Room: p.room, Code: code, Message: message})
}

// pendingIndex finds a pending send by id, or -1. Acks mostly come in send
// order, so the search usually stops at the first entry.
func (c *Client) pendingIndex(id string) int {
	for i, p := range c.pending {
		if p.id == id {
			return i
		}
	}
	return -1
}

func (c *Client) removePending(at int) {
	copy(c.pending[at:], c.pending[at+1:])
	c.pending[len(c.pending)-1] = nil
	c.pending = c.pending[:len(c.pending)-1]
}
