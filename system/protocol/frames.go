// Package protocol defines chatlab's wire frames, their limits and their
// error codes. Frames are JSON text frames with a "type" field (docs/DESIGN.md, "Frames").
// It depends on the standard library only, so every other part can use it.
package protocol

// Frame types, client to node.
const (
	TypeJoin  = "join"
	TypeLeave = "leave"
	TypeSend  = "send"
)

// Frame types, node to client.
const (
	TypeWelcome = "welcome"
	TypeJoined  = "joined"
	TypeMsg     = "msg"
	TypeAck     = "ack"
	TypeReset   = "reset"
	TypeError   = "error"
)

// Join asks to become a member of Room. Since, when present, is the last seq
// the client has seen: the node replays every seq after it. Epoch, when
// present, is the room epoch that Since belongs to; a different current epoch
// means the room's history was lost and the client gets a reset. Ref, when
// present, is the client's name for this join (at most IDBytesMax bytes),
// echoed by its joined: a client that leaves a room and joins it again
// before the first joined arrived tells the two memberships apart by it.
type Join struct {
	Type  string  `json:"type"`
	Room  string  `json:"room"`
	Since *uint64 `json:"since,omitempty"`
	Epoch string  `json:"epoch,omitempty"`
	Ref   string  `json:"ref,omitempty"`
}

// Leave ends membership of Room.
type Leave struct {
	Type string `json:"type"`
	Room string `json:"room"`
}

// Send posts Body to Room. ID is chosen by the client and is repeated on a
// retry, so that a send lands exactly once.
type Send struct {
	Type string `json:"type"`
	Room string `json:"room"`
	ID   string `json:"id"`
	Body string `json:"body"`
}

// Welcome is the first frame on every connection.
type Welcome struct {
	Type string `json:"type"`
	Node string `json:"node"`
	User string `json:"user"`
}

// Joined confirms a join. Head is the room's last seq when the member joined
// (after any replay the node sends); Epoch names the room's history. Ref is
// the join's ref, when it had one.
type Joined struct {
	Type  string `json:"type"`
	Room  string `json:"room"`
	Head  uint64 `json:"head"`
	Epoch string `json:"epoch,omitempty"`
	Ref   string `json:"ref,omitempty"`
}

// Msg is one message of a room. Seq is 0 in pubsub delivery mode, which has
// no sequence. TS is the accepting node's clock in milliseconds.
type Msg struct {
	Type  string `json:"type"`
	Room  string `json:"room"`
	Seq   uint64 `json:"seq"`
	ID    string `json:"id"`
	From  string `json:"from"`
	Body  string `json:"body"`
	TS    int64  `json:"ts"`
	Epoch string `json:"epoch,omitempty"`
}

// Ack confirms that the send with ID was accepted as Seq.
type Ack struct {
	Type string `json:"type"`
	Room string `json:"room"`
	ID   string `json:"id"`
	Seq  uint64 `json:"seq"`
}

// Reset says that the room's history before From is gone: seqs up to From-1
// that the client has not seen will never arrive. Epoch is the room's
// current epoch; a changed epoch means seqs restarted.
type Reset struct {
	Type  string `json:"type"`
	Room  string `json:"room"`
	From  uint64 `json:"from"`
	Epoch string `json:"epoch,omitempty"`
}

// Error reports a rejected frame or a failed operation. Ref names what it
// refers to: the send id, or the room.
type Error struct {
	Type    string `json:"type"`
	Code    Code   `json:"code"`
	Message string `json:"message"`
	Ref     string `json:"ref,omitempty"`
}
