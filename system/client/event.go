package client

import "chatlab/system/protocol"

// EventKind names what happened. The values are stable: they appear in
// recorded histories.
type EventKind string

// Event kinds.
const (
	KindConnected    EventKind = "connected"    // the transport came up
	KindDisconnected EventKind = "disconnected" // the transport went down; CloseCode says how
	KindDialFailed   EventKind = "dial_failed"  // a dial did not connect
	KindWelcome      EventKind = "welcome"      // the node greeted us: Node, and the user in From
	KindJoined       EventKind = "joined"       // the node confirmed a join: Room, Head, Epoch
	KindSent         EventKind = "sent"         // the app issued a send: ID, Room, Body
	KindResent       EventKind = "resent"       // a send went out again with the same ID
	KindAcked        EventKind = "acked"        // a send was accepted as Seq
	KindDelivered    EventKind = "delivered"    // a msg arrived and was passed to the app, or discarded when Duplicate
	KindReset        EventKind = "reset"        // history before Seq is gone; Epoch is the room's epoch now
	KindError        EventKind = "error"        // an error frame that did not fail a send: Code, Message, ID = its ref
	KindSendFailed   EventKind = "send_failed"  // a send was given up: ID, Room, Code and Message say why
	KindLeft         EventKind = "left"         // the app left Room: the membership window ends here
)

// Event kinds a host records about its own actions on the transport (the
// state machine never emits them): the lab's history needs them to tell
// why a connection ended and who was held up on purpose.
const (
	KindDropped EventKind = "dropped" // the host cut the transport without a close (a flaky network, the workload's reconnects)
	KindStalled EventKind = "stalled" // the host stopped reading the transport (a slow consumer)
	KindReading EventKind = "reading" // the host reads the transport again after a stall
)

// Event is one thing that happened to the client, for the host's history
// recorder. Fields a kind does not use are zero.
type Event struct {
	Kind EventKind `json:"kind"`
	// AtMs is the time of the latest Tick.
	AtMs  int64  `json:"at_ms"`
	Room  string `json:"room,omitempty"`
	Seq   uint64 `json:"seq,omitempty"`
	ID    string `json:"id,omitempty"`
	From  string `json:"from,omitempty"`
	Body  string `json:"body,omitempty"`
	TS    int64  `json:"ts,omitempty"`
	Epoch string `json:"epoch,omitempty"`
	Node  string `json:"node,omitempty"`
	// Code is an error frame's code (KindError, KindSendFailed).
	Code    protocol.Code `json:"code,omitempty"`
	Message string        `json:"message,omitempty"`
	// CloseCode is the WebSocket close code of a KindDisconnected (1006 for
	// an abnormal drop).
	CloseCode int `json:"close_code,omitempty"`
	// CloseReason is the close frame's reason text, when the host has one.
	CloseReason string `json:"close_reason,omitempty"`
	Head        uint64 `json:"head,omitempty"`
	// Duplicate marks a KindDelivered the client discarded (its seq was at
	// or below the last seen): it arrived on the wire but never reached the
	// application. Without it, the msg was passed to the application. A
	// history thus records both what arrived and what the app received.
	Duplicate bool `json:"duplicate,omitempty"`
}
