package node

import "chatlab/system/protocol"

// ConnID names one client connection on a node. The runtime chooses it and
// never reuses one while the node runs.
type ConnID uint64

// RequestID names one broker request (publish or fetch) so that its reply
// can be matched. The node chooses it.
type RequestID uint64

// Delivery is the delivery mode of a cluster.
type Delivery string

// Delivery modes (docs/DESIGN.md "Delivery: what must survive").
const (
	// Recover: a per-room seq, a bounded stream of history, dedupe by send
	// id, gap fill and resume. Nothing acked is lost.
	Recover Delivery = "recover"
	// PubSub: PUBLISH only, no seq and no history: the naive design the lab
	// exists to expose.
	PubSub Delivery = "pubsub"
)

// ParseDelivery checks a delivery mode's name.
func ParseDelivery(name string) (Delivery, bool) {
	switch Delivery(name) {
	case Recover, PubSub:
		return Delivery(name), true
	}
	return "", false
}

// PublishRequest asks the broker to accept one send. In recover mode the
// broker, atomically: returns the original seq for a repeated (From, ID);
// otherwise sets the room's epoch to EpochCandidate if the room has none,
// increments the room's seq, appends the message to the room's history and
// publishes it. In pubsub mode it only publishes, with seq 0.
type PublishRequest struct {
	Request        RequestID
	Room           string
	ID             string
	From           string
	Body           string
	TS             int64
	EpochCandidate string
}

// PublishReply is the broker's answer to a PublishRequest.
type PublishReply struct {
	Seq       uint64
	Epoch     string
	Duplicate bool
	// Conflict: the id was already used, by the same sender in the same
	// room, for another body; nothing was appended and Seq is the first's.
	Conflict bool
}

// FetchRequest asks for a room's history after AfterSeq, at most Limit
// messages (Limit is at least 1), and its current head and epoch (setting the epoch to
// EpochCandidate if the room has none).
type FetchRequest struct {
	Request        RequestID
	Room           string
	AfterSeq       uint64
	Limit          int
	EpochCandidate string
}

// FetchReply is the broker's answer to a FetchRequest. Head is the room's
// last seq; First is the lowest seq still held in history (Head+1 when the
// history is empty). Messages are the held seqs in (AfterSeq, AfterSeq+Limit],
// ascending, without gaps from max(AfterSeq+1, First).
type FetchReply struct {
	Epoch    string
	Head     uint64
	First    uint64
	Messages []protocol.Msg
}

// OutFrame is a frame to write to a connection.
type OutFrame struct {
	Conn ConnID
	Data []byte
}

// CloseConn asks the runtime to close a connection with a WebSocket close
// code and reason. The node already considers the connection gone.
type CloseConn struct {
	Conn   ConnID
	Code   int
	Reason string
}

// Ready is everything the node wants done since the last call to Ready:
// frames to write, connections to close, broker requests and subscription
// changes, in the order the node produced them within each list.
type Ready struct {
	Frames       []OutFrame
	Closes       []CloseConn
	Publishes    []PublishRequest
	Fetches      []FetchRequest
	Subscribes   []string
	Unsubscribes []string
	// LatenciesMs holds, for each message delivered to local members, the
	// node clock at delivery minus the message's TS (one sample per message
	// per node, not per member).
	LatenciesMs []int64
}

// Empty reports whether there is nothing to do.
func (r *Ready) Empty() bool {
	return len(r.Frames) == 0 && len(r.Closes) == 0 && len(r.Publishes) == 0 && len(r.Fetches) == 0 &&
		len(r.Subscribes) == 0 && len(r.Unsubscribes) == 0 && len(r.LatenciesMs) == 0
}
