package protocol

// Limits on what a client may send. A node enforces them on every frame.
const (
	// FrameBytesMax is the largest frame a node reads; a larger one closes
	// the connection with CloseMessageTooBig (1009).
	FrameBytesMax = 16 * 1024
	// RoomBytesMax is the longest room name.
	RoomBytesMax = 64
	// IDBytesMax is the longest client-chosen send id.
	IDBytesMax = 64
	// BodyBytesMax is the longest message body.
	BodyBytesMax = 8 * 1024
	// RoomsPerConnectionMax is how many rooms one connection may be in.
	RoomsPerConnectionMax = 32
	// EpochBytesMax is the longest room epoch a join may carry.
	EpochBytesMax = 64
	// SinceMax is the largest since a join may carry: 2^53-1, the largest
	// whole number a JSON number carries exactly (RFC 8259 §6; a browser's
	// client could not even write a larger one exactly). Seqs are counted
	// from 1 by Redis, one a message, and never come near it.
	SinceMax = 1<<53 - 1
)

// WebSocket close codes with a meaning in chatlab.
const (
	// CloseMessageTooBig is RFC 6455's code for an oversized frame.
	CloseMessageTooBig = 1009
	// CloseReconnect means: this node cannot keep serving you (slow
	// consumer, drain, rebalance); reconnect, anywhere, and resume with
	// since. Clients treat it as an expected, non-fatal close.
	CloseReconnect = 4000
	// CloseTokenExpired means the connection's token expired: fetch a
	// fresh token, reconnect, anywhere, and resume with since.
	CloseTokenExpired = 4001
	// ClosePolicy means the client broke the rules too often to be kept.
	ClosePolicy = 4008
)

// ReasonSlowConsumer is the close reason of a CloseReconnect that cuts off
// a client that did not read its frames fast enough.
const ReasonSlowConsumer = "slow consumer: reconnect and resume"

// ReasonBrokerLost is the close reason of a CloseReconnect from a node that
// lost its broker (Redis) for longer than its grace: it moves its clients
// to nodes that can serve them, and takes none until the broker is back.
const ReasonBrokerLost = "broker lost: reconnect elsewhere and resume"
