package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Inbound is a decoded, validated client frame: one of join, leave or send.
type Inbound struct {
	Type     string
	Room     string
	HasSince bool
	Since    uint64
	Epoch    string
	Ref      string // a join's ref, echoed by its joined
	ID       string
	Body     string
}

// Decode parses one client frame strictly: valid UTF-8, a JSON object with a
// known type, no unknown fields, every required field present and every
// field within its limit. A rejection names the field and the limit.
func Decode(data []byte) (Inbound, *Reject) {
	if len(data) > FrameBytesMax {
		return Inbound{}, rejectf(CodeFrameTooLarge, "", "frame is %d bytes; the limit is %d", len(data), FrameBytesMax)
	}
	if !utf8.Valid(data) {
		return Inbound{}, rejectf(CodeBadUTF8, "", "frame is not valid UTF-8")
	}
	if w, ok := decodeInboundFast(data); ok {
		return checkInbound(w)
	}
	return decodeReference(data)
}

// decodeReference is the strict encoding/json path: the reference for
// every frame, and the one that words the rejection of a malformed frame.
func decodeReference(data []byte) (Inbound, *Reject) {
	if reject := checkKeys(data); reject != nil {
		return Inbound{}, reject
	}
	var head struct {
		Type *string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return Inbound{}, rejectJSON(err, "")
	}
	if head.Type == nil {
		return Inbound{}, rejectf(CodeUnknownType, "", "frame has no type; expected join, leave or send")
	}
	switch *head.Type {
	case TypeJoin:
		var f Join
		if reject := decodeStrict(data, &f); reject != nil {
			if reject.Code != CodeOutOfRange {
				return Inbound{}, reject
			}
			// A since beyond uint64 is out of range as any above SinceMax.
			beyond := uint64(1<<64 - 1)
			f.Since = &beyond
		}
		if f.Since != nil {
			return checkJoin(f, true, *f.Since)
		}
		return checkJoin(f, false, 0)
	case TypeLeave:
		var f Leave
		if reject := decodeStrict(data, &f); reject != nil {
			return Inbound{}, reject
		}
		if reject := checkRoom(f.Room); reject != nil {
			return Inbound{}, reject
		}
		return Inbound{Type: TypeLeave, Room: f.Room}, nil
	case TypeSend:
		var f Send
		if reject := decodeStrict(data, &f); reject != nil {
			return Inbound{}, reject
		}
		return checkSend(f)
	default:
		return Inbound{}, rejectf(CodeUnknownType, "", "unknown frame type %q; expected join, leave or send", truncate(*head.Type, 32))
	}
}

// checkInbound validates a frame the fast path read, exactly as the strict
// path validates the same frame.
func checkInbound(w inboundWire) (Inbound, *Reject) {
	switch w.typ {
	case TypeJoin:
		return checkJoin(Join{Type: w.typ, Room: w.room, Epoch: w.epoch, Ref: w.ref}, w.present&fieldSince != 0, w.since)
	case TypeLeave:
		if reject := checkRoom(w.room); reject != nil {
			return Inbound{}, reject
		}
		return Inbound{Type: TypeLeave, Room: w.room}, nil
	default:
		return checkSend(Send{Type: w.typ, Room: w.room, ID: w.id, Body: w.body})
	}
}

const sinceOutOfRange = "since is above %d, the largest seq a JSON number carries exactly"

// checkJoin validates a join. A since above SinceMax is refused here, before
// the node sees the join: no membership, no broker call.
func checkJoin(f Join, hasSince bool, since uint64) (Inbound, *Reject) {
	in := Inbound{Type: TypeJoin, Room: f.Room, Epoch: f.Epoch, Ref: f.Ref, HasSince: hasSince, Since: since}
	if reject := checkRoom(f.Room); reject != nil {
		return Inbound{}, reject
	}
	if len(f.Epoch) > EpochBytesMax {
		return Inbound{}, rejectf(CodeFieldTooLong, f.Room, "epoch is %d bytes; the limit is %d", len(f.Epoch), EpochBytesMax)
	}
	if len(f.Ref) > IDBytesMax {
		return Inbound{}, rejectf(CodeFieldTooLong, f.Room, "ref is %d bytes; the limit is %d", len(f.Ref), IDBytesMax)
	}
	if hasSince && since > SinceMax {
		return Inbound{}, rejectf(CodeOutOfRange, f.Room, sinceOutOfRange, uint64(SinceMax))
	}
	return in, nil
}

func checkSend(f Send) (Inbound, *Reject) {
	if f.ID == "" {
		return Inbound{}, rejectf(CodeMissingField, "", "send needs a non-empty id")
	}
	if len(f.ID) > IDBytesMax {
		return Inbound{}, rejectf(CodeFieldTooLong, "", "id is %d bytes; the limit is %d", len(f.ID), IDBytesMax)
	}
	if reject := checkRoom(f.Room); reject != nil {
		reject.Ref = f.ID
		return Inbound{}, reject
	}
	if f.Body == "" {
		return Inbound{}, rejectf(CodeMissingField, f.ID, "send needs a non-empty body")
	}
	if len(f.Body) > BodyBytesMax {
		return Inbound{}, rejectf(CodeFieldTooLong, f.ID, "body is %d bytes; the limit is %d", len(f.Body), BodyBytesMax)
	}
	return Inbound{Type: TypeSend, Room: f.Room, ID: f.ID, Body: f.Body}, nil
}

func decodeStrict(data []byte, v any) *Reject {
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(v); err != nil {
		return rejectJSON(err, "")
	}
	if decoder.More() {
		return rejectf(CodeBadJSON, "", "frame holds more than one JSON value")
	}
	return nil
}

// CheckRoom validates a room name: 1 to RoomBytesMax bytes of [A-Za-z0-9._:-].
func CheckRoom(room string) error {
	if reject := checkRoom(room); reject != nil {
		return reject
	}
	return nil
}

func checkRoom(room string) *Reject {
	if room == "" {
		return rejectf(CodeMissingField, "", "room is missing or empty")
	}
	if len(room) > RoomBytesMax {
		return rejectf(CodeFieldTooLong, "", "room is %d bytes; the limit is %d", len(room), RoomBytesMax)
	}
	for i := 0; i < len(room); i++ {
		if !roomByte(room[i]) {
			return rejectf(CodeBadRoom, "", "room %q has %q at byte %d; allowed are A-Z a-z 0-9 . _ : -", truncate(room, 32), room[i], i)
		}
	}
	return nil
}

func roomByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	case c == '.', c == '_', c == ':', c == '-':
		return true
	}
	return false
}

func rejectJSON(err error, ref string) *Reject {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return rejectf(CodeBadJSON, ref, "frame must be a JSON object, not %s", typeErr.Value)
		}
		if field == "since" && wholeNumber(strings.TrimPrefix(typeErr.Value, "number ")) {
			return rejectf(CodeOutOfRange, ref, sinceOutOfRange, uint64(SinceMax))
		}
		return rejectf(CodeBadJSON, ref, "field %q must be %s, not %s", field, typeErr.Type.String(), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return rejectf(CodeBadJSON, ref, "invalid JSON at byte %d: %s", syntaxErr.Offset, syntaxErr.Error())
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return rejectf(CodeUnknownField, ref, "%s", strings.TrimPrefix(err.Error(), "json: "))
	default:
		return rejectf(CodeBadJSON, ref, "invalid JSON: %s", err.Error())
	}
}

// wholeNumber reports whether s is a JSON number without sign, fraction or
// exponent.
func wholeNumber(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func rejectf(code Code, ref, format string, args ...any) *Reject {
	return &Reject{Code: code, Message: fmt.Sprintf(format, args...), Ref: ref}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
