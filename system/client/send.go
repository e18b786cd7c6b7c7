package client

import (
	"errors"
	"fmt"
	"slices"
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
	// refused is set while the send waits to be resent after a refusal
	// that asks for a retry (it is inFlight, resent at resendAtMs). Until
	// then no later send of its room goes out, so that the node cannot
	// give one of them a seq ahead of it.
	refused bool
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
	switch {
	case !c.online() || c.draining:
	case c.roomHeld(roomName, p):
		// Behind a refused send: it goes out right after that one.
		p.inFlight, p.refused, p.resendAtMs = true, true, c.nowMs
	default:
		c.transmit(p)
	}
	return id, nil
}

// roomHeld reports whether a send of room ahead of p waits to be resent
// after a refusal.
func (c *Client) roomHeld(room string, p *pendingSend) bool {
	for _, q := range c.pending {
		if q == p {
			return false
		}
		if q.room == room && q.refused {
			return true
		}
	}
	return false
}

// transmitAll sends every pending send on a fresh connection, in id order.
func (c *Client) transmitAll() {
	for i := 0; i < len(c.pending); {
		if c.transmit(c.pending[i]) {
			i++
		}
	}
}

// resendDue resends, in id order, every in-flight send whose answer is
// overdue and every refused send whose retry is due, except those behind a
// refused send of their room still waiting for its retry. A send resent
// takes every later send of its room still unanswered along, right behind
// it, so that the last time each went out is in the order they were made:
// a node that refused or dropped one of them takes none of the later ones
// ahead of it.
func (c *Client) resendDue() {
	var heldBuf, resentBuf [4]string
	held := heldBuf[:0]     // rooms whose refused send still waits
	resent := resentBuf[:0] // rooms with a send resent in this pass
	for i := 0; i < len(c.pending); {
		p := c.pending[i]
		switch {
		case !p.inFlight || slices.Contains(held, p.room):
		case slices.Contains(resent, p.room) || c.nowMs >= p.resendAtMs:
			if !slices.Contains(resent, p.room) {
				resent = append(resent, p.room)
			}
			if !c.transmit(p) {
				continue // given up and removed
			}
		case p.refused:
			held = append(held, p.room)
		}
		i++
	}
}

// resendDeadline is the earliest resend due on this connection: a send
// behind a refused one of its room goes no earlier than that one.
func (c *Client) resendDeadline() (atMs int64, ok bool) {
	var heldBuf [4]string
	held := heldBuf[:0]
	for _, p := range c.pending {
		if !p.inFlight || slices.Contains(held, p.room) {
			continue
		}
		if p.refused {
			held = append(held, p.room)
		}
		if !ok || p.resendAtMs < atMs {
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
	p.inFlight, p.refused, p.resendAtMs = true, false, c.nowMs+c.cfg.ResendAfterMs
	c.write(p.frame)
	return true
}

// retryLater answers a refusal that asks for a retry (unavailable,
// rate_limited): the resend waits between half and all of ResendAfterMs,
// at random, so that sends refused together are not all retried together;
// the later sends of its room wait for it (resendDue).
func (c *Client) retryLater(p *pendingSend) {
	half := c.cfg.ResendAfterMs / 2
	p.inFlight, p.refused, p.resendAtMs = true, true, c.nowMs+half+c.jitterMs(c.cfg.ResendAfterMs-half)
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
