package protocol

// Code is an error frame's code. Each rejection has its own.
type Code string

// Error codes.
const (
	CodeBadJSON       Code = "bad_json"        // not a JSON object, or a field of the wrong type
	CodeBadUTF8       Code = "bad_utf8"        // frame is not valid UTF-8
	CodeUnknownType   Code = "unknown_type"    // type missing or not a client frame type
	CodeUnknownField  Code = "unknown_field"   // a field the frame type does not have
	CodeMissingField  Code = "missing_field"   // a required field is absent or empty
	CodeFieldTooLong  Code = "field_too_long"  // room, id, body or epoch over its limit
	CodeOutOfRange    Code = "out_of_range"    // a join's since above SinceMax
	CodeBadRoom       Code = "bad_room"        // room name has characters outside [A-Za-z0-9._:-]
	CodeFrameTooLarge Code = "frame_too_large" // frame over FrameBytesMax
	CodeTooManyRooms  Code = "too_many_rooms"  // join beyond RoomsPerConnectionMax
	CodeNotMember     Code = "not_member"      // send or leave in a room not joined
	CodeRateLimited   Code = "rate_limited"    // a rate limit or the connection's broker share is exhausted: slow down
	CodeIDConflict    Code = "id_conflict"     // a send's id was already used with another body: choose a new id
	CodeUnavailable   Code = "unavailable"     // the broker cannot take the send now; retry with the same id
	CodeDraining      Code = "draining"        // the node is draining; reconnect elsewhere
	CodeBinaryFrame   Code = "binary_frame"    // a binary frame; only text frames are accepted
	CodeForbidden     Code = "forbidden"       // a join of a room the connection's credentials do not grant
)

// Reject is a decoding or validation failure: the code to send back and a
// message a person can act on.
type Reject struct {
	Code    Code
	Message string
	Ref     string
}

func (r *Reject) Error() string { return string(r.Code) + ": " + r.Message }

// Frame returns the error frame that reports the rejection.
func (r *Reject) Frame() Error {
	return Error{Type: TypeError, Code: r.Code, Message: r.Message, Ref: r.Ref}
}
