// Package broker is the port between chat nodes and the shared message
// store (docs/DESIGN.md "Delivery: what must survive"), and its Redis adapter.
package broker

import (
	"context"
	"errors"

	"chatlab/system/node"
	"chatlab/system/protocol"
)

// Broker carries a room's messages between nodes. Its guarantees depend on
// the delivery mode it was built for.
//
// Recover mode (node.Recover):
//   - Publish is applied at most once per (room, From, ID) within the dedupe
//     window: a repeated (From, ID) returns the seq and epoch it was first
//     given, with Duplicate set, and is neither appended nor published again.
//     A sender that lost the reply therefore retries with the same ID and
//     gets its original seq back.
//   - Once Publish returns without error, the message is in the room's
//     history under a seq that is unique and gap-free within the room's
//     epoch (1, 2, 3, ...). History is bounded: the oldest messages are
//     trimmed, and Fetch reports the lowest seq still held as First.
//   - A room's epoch names its history. It is set, from the caller's
//     candidate, by the first Publish or Fetch that finds the room without
//     one: on first use and after the store lost its data. A new epoch
//     restarts seq at 1, so a changed epoch tells clients that history was
//     lost.
//   - Live delivery (Events) is at most once: a message published while the
//     link is down, or dropped because the consumer was slow, is not
//     redelivered. Every loss is followed by a LinkUp (after a LinkDown)
//     once subscriptions are in place again; on each LinkUp the consumer
//     must catch up every room from history with Fetch. Between two LinkUps
//     messages arrive in publish order per room, but a consumer must still
//     fill any seq gap from history.
//
// PubSub mode (node.PubSub): Publish only publishes, with seq 0; there is no
// dedupe, no history (Fetch fails with ErrNoHistory) and no epoch. Delivery is
// at most once and losses are not recoverable. This is the naive design the
// lab exists to expose.
//
// Subscriptions, in both modes: Subscribe returns once the store has
// confirmed the subscription, so that a Fetch issued after it cannot miss a
// message that is neither in its reply nor delivered live. A subscribed room
// stays subscribed across link losses until Unsubscribe.
//
// Methods are safe for concurrent use. Errors are operating errors (the
// store is unreachable, a timeout, a malformed reply); a Publish that fails
// may or may not have been applied.
type Broker interface {
	Publish(ctx context.Context, req node.PublishRequest) (node.PublishReply, error)
	Fetch(ctx context.Context, req node.FetchRequest) (node.FetchReply, error)
	Subscribe(ctx context.Context, room string) error
	Unsubscribe(ctx context.Context, room string) error
	// Events delivers messages of subscribed rooms and link state changes.
	// It is closed by Close.
	Events() <-chan Event
	// Ping checks that the store answers commands.
	Ping(ctx context.Context) error
	Close() error
}

// Link is a change of the broker's subscription link.
type Link int

const (
	// LinkNone marks an Event that carries a message.
	LinkNone Link = iota
	// LinkUp: every subscription is confirmed again. Catch up every room
	// from history: messages may have been missed since the last LinkDown.
	LinkUp
	// LinkDown: live delivery stopped, or messages were dropped. A LinkUp
	// follows once subscriptions are in place.
	LinkDown
)

// String names a link state for logs and test failures.
func (l Link) String() string {
	switch l {
	case LinkNone:
		return "none"
	case LinkUp:
		return "up"
	case LinkDown:
		return "down"
	}
	return "unknown"
}

// Event is either a message (Msg set, Link is LinkNone) or a link state
// change (Link set, Msg nil).
type Event struct {
	Msg  *protocol.Msg
	Link Link
	// Err says why, on LinkDown: the link's failure, or what was dropped.
	Err error
}

// Errors a caller may want to tell apart.
var (
	// ErrNoHistory: Fetch in pubsub mode, which keeps no history.
	ErrNoHistory = errors.New("pubsub delivery keeps no history")
	// ErrLinkDown: the subscription link is down. A Subscribe that fails
	// with it still takes effect at the next LinkUp.
	ErrLinkDown = errors.New("subscription link is down")
	// ErrClosed: the broker was closed.
	ErrClosed = errors.New("broker is closed")
	// ErrConsumerSlow: on LinkDown, messages were dropped because Events
	// was full.
	ErrConsumerSlow = errors.New("events channel full: messages dropped")
)
