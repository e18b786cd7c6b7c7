package client

import (
	"errors"
	"sort"
	"strconv"

	"chatlab/system/protocol"
)

// ErrTooManyRooms is returned by Join beyond protocol.RoomsPerConnectionMax
// rooms: the node would refuse the join.
var ErrTooManyRooms = errors.New("client: too many rooms for one connection")

// room is a room the app wants to be in.
type room struct {
	name string
	// hasSeq is false until the client learns where it stands in the room
	// (joined head, a msg or a reset); until then a join carries no since.
	hasSeq  bool
	lastSeq uint64
	// epoch names the history lastSeq belongs to.
	epoch string
	// joined is true once the current connection got the room's joined.
	joined bool
	head   uint64
	// joinRef is the ref of the join last sent for this membership: only
	// the joined that echoes it starts the membership.
	joinRef string
	// had is what the app had of the room before it last left it (the
	// last seq passed on and its epoch), until the new membership learns
	// its place.
	had seen
}

// seen is how far the app got in a room's history: every seq up to lastSeq
// of epoch was passed on or declared gone. The zero value knows nothing.
type seen struct {
	room    string
	epoch   string
	lastSeq uint64
}

// leftRoomsMax bounds how many rooms the app left the client remembers
// (seen), the most recently left kept.
const leftRoomsMax = 64

// Join remembers a room and joins it now if connected, and again on every
// reconnect with since = the last seq seen. Joining a room already joined
// does nothing: a repeated join would restart the membership on the node.
func (c *Client) Join(name string) error {
	if err := protocol.CheckRoom(name); err != nil {
		return err
	}
	if c.rooms[name] != nil {
		return nil
	}
	if len(c.rooms) >= protocol.RoomsPerConnectionMax {
		return ErrTooManyRooms
	}
	r := &room{name: name, had: c.takeLeft(name)}
	c.rooms[name] = r
	at := sort.SearchStrings(c.roomNames, name)
	c.roomNames = append(c.roomNames, "")
	copy(c.roomNames[at+1:], c.roomNames[at:])
	c.roomNames[at] = name
	if c.online() {
		c.sendJoin(r)
	}
	return nil
}

// Leave forgets a room and leaves it now if connected. Sends still pending
// in it stay pending: the node answers them (an ack, or not_member).
func (c *Client) Leave(name string) {
	if c.rooms[name] == nil {
		return
	}
	r := c.rooms[name]
	delete(c.rooms, name)
	c.rememberLeft(r)
	c.event(Event{Kind: KindLeft, Room: name})
	at := sort.SearchStrings(c.roomNames, name)
	c.roomNames = append(c.roomNames[:at], c.roomNames[at+1:]...)
	if c.online() {
		c.write(protocol.Encode(protocol.Leave{Type: protocol.TypeLeave, Room: name}))
	}
}

func (c *Client) sendJoin(r *room) {
	c.joinsSent++
	r.joinRef = "j" + strconv.FormatUint(c.joinsSent, 10)
	join := protocol.Join{Type: protocol.TypeJoin, Room: r.name, Epoch: r.epoch, Ref: r.joinRef}
	if r.hasSeq {
		since := r.lastSeq
		join.Since = &since
	}
	c.write(protocol.Encode(join))
}

// rememberLeft keeps where the app stood in a room it leaves, so that
// joining it again does not pass on what it already had.
func (c *Client) rememberLeft(r *room) {
	had := r.had
	if r.hasSeq {
		had = seen{room: r.name, epoch: r.epoch, lastSeq: r.lastSeq}
	}
	if had.epoch == "" {
		return
	}
	if len(c.left) == leftRoomsMax {
		c.left = append(c.left[:0], c.left[1:]...)
	}
	c.left = append(c.left, had)
}

// takeLeft hands over (and forgets) what the app had of a room it left.
func (c *Client) takeLeft(name string) seen {
	for i := len(c.left) - 1; i >= 0; i-- {
		if c.left[i].room == name {
			had := c.left[i]
			c.left = append(c.left[:i], c.left[i+1:]...)
			return had
		}
	}
	return seen{}
}

// joinedRoom handles the node's confirmation of a join. A first join learns
// its place from the head, unless the app already had more of that epoch
// before it left the room: a node's head may lag what another node passed
// on (its link to Redis is slow or cut), and the seqs between that head and
// where the app stood would reach it a second time. A resumed join keeps
// its last seq and epoch: the node follows with the replay, or with a reset
// when the epoch changed, and adopting the joined epoch first would make
// that reset look like a no-op.
func (c *Client) joinedRoom(r *room, head uint64, epoch string) {
	r.joined, r.head = true, head
	if !r.hasSeq {
		r.hasSeq, r.lastSeq, r.epoch = true, head, epoch
		if r.had.epoch == epoch && r.had.lastSeq > head {
			r.lastSeq = r.had.lastSeq
		}
		r.had = seen{}
	} else if r.epoch == "" {
		r.epoch = epoch
	}
	c.event(Event{Kind: KindJoined, Room: r.name, Head: head, Epoch: epoch})
}

// resetRoom handles "history before from is gone". In a new epoch seqs
// restarted, so the last seq is from-1 even when that is lower. In the same
// epoch the last seq only moves up: lowering it would let seqs already
// delivered through again as fresh ones.
func (c *Client) resetRoom(r *room, from uint64, epoch string) {
	floor := uint64(0)
	if from > 0 {
		floor = from - 1
	}
	if epoch != r.epoch || !r.hasSeq {
		r.lastSeq = floor
	} else {
		r.lastSeq = max(r.lastSeq, floor)
	}
	r.hasSeq, r.epoch = true, epoch
	c.event(Event{Kind: KindReset, Room: r.name, Seq: from, Epoch: epoch})
}

// deliver handles a msg: dedupe by seq, unless seq is 0 (pubsub delivery,
// which has no seq). A seq ahead of last+1 is taken as it is.
func (c *Client) deliver(r *room, m protocol.Outbound) {
	e := Event{Kind: KindDelivered, Room: r.name, Seq: m.Seq, ID: m.ID, From: m.FromUser, Body: m.Body, TS: m.TS, Epoch: m.Epoch}
	if e.Epoch == "" {
		e.Epoch = r.epoch
	}
	if m.Seq != 0 {
		if r.hasSeq && m.Seq <= r.lastSeq {
			c.counters.Duplicates++
			e.Duplicate = true
			c.event(e)
			return
		}
		r.hasSeq, r.lastSeq = true, m.Seq
		if r.epoch == "" {
			r.epoch = m.Epoch
		}
	}
	c.counters.Delivered++
	c.event(e)
	if m.FromUser == c.cfg.User {
		c.ownDelivered(m)
	}
}
