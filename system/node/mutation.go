package node

import "fmt"

// Mutation deliberately breaks the node in one known way, so that the lab
// can show each checker catching the bug it exists for. It is for tests and
// mutation runs only; a real deployment never sets it.
type Mutation string

// Mutations. Each strikes once per node, at the mutationAtSeq-th message the
// node accepts, against the first live member of that room.
const (
	MutationNone        Mutation = ""
	MutationDrop        Mutation = "drop"         // one delivery is skipped
	MutationDuplicate   Mutation = "duplicate"    // one delivery is sent twice
	MutationSwap        Mutation = "swap"         // two consecutive deliveries of a room are swapped
	MutationIgnoreSince Mutation = "ignore-since" // joins with since get no replay
)

// mutationAtSeq is how many messages a node accepts before a mutation
// strikes: late enough that every checker has history around it.
const mutationAtSeq = 5

// ParseMutation checks a mutation's name.
func ParseMutation(name string) (Mutation, error) {
	switch m := Mutation(name); m {
	case MutationNone, MutationDrop, MutationDuplicate, MutationSwap, MutationIgnoreSince:
		return m, nil
	}
	return "", fmt.Errorf("unknown mutation %q: want drop, duplicate, swap or ignore-since", name)
}

// mutationState tracks a mutation's single strike.
type mutationState struct {
	accepted uint64
	struck   bool
	held     *entry // the swapped delivery, sent after the next one
	heldConn ConnID
}

// deliverMutated delivers one accepted entry to a member, applying the
// node's mutation when it is due. It reports whether the member's delivery
// was handled here.
func (n *Node) deliverMutated(m *member, e entry) bool {
	state := &n.mutation
	if state.held != nil {
		r := n.rooms[state.held.msg.Room]
		if s := n.sessions[state.heldConn]; s == nil || s.cut || r == nil || r.member(state.heldConn) == nil {
			// The member left, or its connection ended, before the swap
			// was complete: its resume replays the held message in order,
			// so strike again, elsewhere.
			state.held, state.struck = nil, false
		}
	}
	// The held message goes after the member's next one of the same room:
	// swapped with another room's message, the order would still hold.
	if state.held != nil && state.heldConn == m.conn && state.held.msg.Room == e.msg.Room {
		n.deliver(n.sessions[m.conn], e)
		n.deliver(n.sessions[m.conn], *state.held)
		state.held = nil
		return true
	}
	if state.struck || state.accepted < mutationAtSeq {
		return false
	}
	state.struck = true
	switch n.cfg.Mutation {
	case MutationDrop:
		return true
	case MutationDuplicate:
		n.deliver(n.sessions[m.conn], e)
		n.deliver(n.sessions[m.conn], e)
		return true
	case MutationSwap:
		held := e
		state.held, state.heldConn = &held, m.conn
		return true
	}
	state.struck = false
	return false
}
