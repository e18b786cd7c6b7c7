package protocol

import (
	"encoding/json"
	"fmt"
)

// Encode marshals a node-to-client or client-to-node frame. Every frame type
// in this package marshals without error, so a failure is a programmer error.
func Encode(frame any) []byte {
	data, err := json.Marshal(frame)
	if err != nil {
		panic("protocol: frame does not marshal: " + err.Error())
	}
	return data
}

// Outbound is a decoded node-to-client frame, as a client reads it. Fields
// that a frame type does not have are zero. The wire field "from" is a user
// in msg and a seq in reset: it lands in FromUser or FromSeq.
type Outbound struct {
	Type     string
	Node     string
	User     string
	Room     string
	Head     uint64
	Seq      uint64
	ID       string
	FromUser string
	FromSeq  uint64
	Body     string
	TS       int64
	Epoch    string
	Code     Code
	Message  string
	Ref      string
}

type outboundWire struct {
	Type    string   `json:"type"`
	Node    string   `json:"node"`
	User    string   `json:"user"`
	Room    string   `json:"room"`
	Head    uint64   `json:"head"`
	Seq     uint64   `json:"seq"`
	ID      string   `json:"id"`
	From    fromWire `json:"from"`
	Body    string   `json:"body"`
	TS      int64    `json:"ts"`
	Epoch   string   `json:"epoch"`
	Code    Code     `json:"code"`
	Message string   `json:"message"`
	Ref     string   `json:"ref"`
}

// fromWire takes "from" as it comes: a user (string) or a seq (number), in
// the one pass that decodes the frame.
type fromWire struct {
	user string
	seq  uint64
}

func (f *fromWire) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '"' {
		return json.Unmarshal(data, &f.user)
	}
	return json.Unmarshal(data, &f.seq)
}

// DecodeOutbound parses a node-to-client frame.
func DecodeOutbound(data []byte) (Outbound, error) {
	w, ok := decodeOutboundFast(data)
	if !ok {
		w = outboundWire{}
		if err := json.Unmarshal(data, &w); err != nil {
			return Outbound{}, fmt.Errorf("decode node frame: %w", err)
		}
	}
	switch w.Type {
	case TypeWelcome, TypeJoined, TypeMsg, TypeAck, TypeError, TypeReset:
	default:
		return Outbound{}, fmt.Errorf("decode node frame: unknown type %q", w.Type)
	}
	if (w.Type == TypeReset && w.From.user != "") || (w.Type != TypeReset && w.From.seq != 0) {
		return Outbound{}, fmt.Errorf("decode node frame: field from of a %s frame has the wrong type", w.Type)
	}
	return Outbound{Type: w.Type, Node: w.Node, User: w.User, Room: w.Room, Head: w.Head, Seq: w.Seq,
		ID: w.ID, FromUser: w.From.user, FromSeq: w.From.seq, Body: w.Body, TS: w.TS, Epoch: w.Epoch,
		Code: w.Code, Message: w.Message, Ref: w.Ref}, nil
}
