package node

import "chatlab/system/protocol"

// room is a node's view of one room with local members.
type room struct {
	name       string
	generation uint64 // distinguishes this room from an earlier one of the same name
	epoch      string
	// synced is false until the first fetch tells the room's head; until
	// then live messages wait in pending.
	synced bool
	// next is the next seq to deliver to live members.
	next uint64
	// pending holds messages that arrived ahead of next, by seq. It is
	// looked up by seq and never iterated, so its order cannot leak.
	pending map[uint64]protocol.Msg
	// fetching is true while the room's catch-up fetch is in flight.
	fetching  bool
	fetchAtMs int64 // when the next poll or retry is due
	// catchingUp is set while a catch-up reply is applied: a member whose
	// connection has spent its replay budget is then paced like a replay
	// (see accept) instead of being flooded past the slow-consumer limit
	// by history it did not fall behind on itself.
	catchingUp bool
	recent     ring
	members    []*member // in join order
}

// member is one connection's membership of a room.
type member struct {
	conn   ConnID
	cursor uint64 // last seq delivered to this member
	// live members get each message as the room accepts it; a member that
	// is catching up from history gets them once its fetches reach the
	// room's recent ring.
	live     bool
	fetching bool
	// awaitingFlush is set while a replay waits for the connection to
	// write what it was given (see catchUp).
	awaitingFlush bool
	// retryAtMs is when a failed catch-up fetch is retried (0: none due).
	retryAtMs int64
	// resetOwed is set while the member's cursor was moved past history
	// that is gone and the reset saying so waits for the fetch that shows
	// where the member really resumes (see memberFetched).
	resetOwed bool
	// joinedSent is false while the room is not yet synced: the joined
	// frame waits for the room's head.
	joinedSent bool
	// since is the join's since (valid when hasSince) and epoch its epoch.
	hasSince bool
	since    uint64
	epoch    string
	// ref is the join's ref, echoed by its joined.
	ref string
}

// entry is one accepted message with its frame, encoded once per node.
type entry struct {
	msg   protocol.Msg
	frame []byte
}

// ring holds the last accepted messages of a room, contiguous by seq:
// entries[(start+i)%len] has seq first+i. It grows as messages come, up to
// lenMax, so that a quiet room costs little however many rooms a node has.
type ring struct {
	entries []entry
	lenMax  int
	start   int
	count   int
	first   uint64
}

func newRing(lenMax int, first uint64) ring {
	return ring{lenMax: lenMax, first: first}
}

func (r *ring) push(e entry) {
	if r.count == 0 {
		r.first = e.msg.Seq
	}
	if r.count == len(r.entries) && len(r.entries) < r.lenMax {
		r.grow()
	}
	if r.count == len(r.entries) {
		r.entries[r.start] = entry{}
		r.start = (r.start + 1) % len(r.entries)
		r.count--
		r.first++
	}
	r.entries[(r.start+r.count)%len(r.entries)] = e
	r.count++
}

// grow doubles the ring's storage (up to lenMax), laying the entries out
// from index 0.
func (r *ring) grow() {
	grown := make([]entry, min(max(2*len(r.entries), ringLenInitial), r.lenMax))
	for i := 0; i < r.count; i++ {
		grown[i] = r.entries[(r.start+i)%len(r.entries)]
	}
	r.entries, r.start = grown, 0
}

// ringLenInitial is a ring's first allocation.
const ringLenInitial = 16

// get returns the entry with seq, if the ring holds it.
func (r *ring) get(seq uint64) (entry, bool) {
	if r.count == 0 || seq < r.first || seq >= r.first+uint64(r.count) {
		return entry{}, false
	}
	return r.entries[(r.start+int(seq-r.first))%len(r.entries)], true
}

// reset empties the ring; the next push sets its first seq.
func (r *ring) reset(first uint64) {
	clear(r.entries)
	r.start, r.count, r.first = 0, 0, first
}

func (r *room) member(conn ConnID) *member {
	for _, m := range r.members {
		if m.conn == conn {
			return m
		}
	}
	return nil
}

func (r *room) head() uint64 {
	if r.next == 0 {
		return 0
	}
	return r.next - 1
}
