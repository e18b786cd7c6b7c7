package protocol

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecodeAcceptsEachClientFrame(t *testing.T) {
	in, reject := Decode([]byte(`{"type":"join","room":"lobby","since":7,"epoch":"e1"}`))
	if reject != nil || in.Type != TypeJoin || in.Room != "lobby" || !in.HasSince || in.Since != 7 || in.Epoch != "e1" {
		t.Fatalf("join: %+v %v", in, reject)
	}
	in, reject = Decode([]byte(`{"type":"join","room":"lobby","since":7,"epoch":"e1","ref":"j3"}`))
	if reject != nil || in.Ref != "j3" || in.Since != 7 {
		t.Fatalf("join with a ref: %+v %v", in, reject)
	}
	in, reject = Decode([]byte(`{"ref":"j3", "room":"lobby", "type":"join"}`)) // the strict path
	if reject != nil || in.Ref != "j3" {
		t.Fatalf("join with a ref, strict path: %+v %v", in, reject)
	}
	in, reject = Decode([]byte(`{"type":"join","room":"lobby"}`))
	if reject != nil || in.HasSince {
		t.Fatalf("join without since: %+v %v", in, reject)
	}
	in, reject = Decode([]byte(`{"type":"leave","room":"lobby"}`))
	if reject != nil || in.Type != TypeLeave || in.Room != "lobby" {
		t.Fatalf("leave: %+v %v", in, reject)
	}
	in, reject = Decode([]byte(`{"type":"send","room":"lobby","id":"c1-1","body":"héllo"}`))
	if reject != nil || in.Type != TypeSend || in.ID != "c1-1" || in.Body != "héllo" {
		t.Fatalf("send: %+v %v", in, reject)
	}
}

func TestDecodeRejectsEachMalformedFrameWithItsCode(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	cases := []struct {
		name  string
		frame string
		code  Code
	}{
		{"invalid JSON", `{"type":`, CodeBadJSON},
		{"not an object", `[1,2]`, CodeBadJSON},
		{"two values", `{"type":"leave","room":"r"} {}`, CodeBadJSON},
		{"invalid UTF-8", "{\"type\":\"send\",\"room\":\"r\",\"id\":\"1\",\"body\":\"\xc3\x28\"}", CodeBadUTF8},
		{"no type", `{"room":"r"}`, CodeUnknownType},
		{"unknown type", `{"type":"shout"}`, CodeUnknownType},
		{"node frame from a client", `{"type":"ack","room":"r","id":"1","seq":1}`, CodeUnknownType},
		{"unknown field", `{"type":"leave","room":"r","body":"x"}`, CodeUnknownField},
		{"wrong field type", `{"type":"join","room":"r","since":"7"}`, CodeBadJSON},
		{"repeated type: a send ending as a join", `{"type":"send","room":"r","id":"1","body":"x","type":"join"}`, CodeBadJSON},
		{"repeated room", `{"type":"join","room":"r","room":"s"}`, CodeBadJSON},
		{"repeated key, escaped", `{"type":"join","room":"r","r\u006fom":"s"}`, CodeBadJSON},
		{"key in another case", `{"Type":"join","room":"r"}`, CodeUnknownField},
		{"key in another case, repeated", `{"type":"join","ROOM":"r"}`, CodeUnknownField},
		{"negative since", `{"type":"join","room":"r","since":-1}`, CodeBadJSON},
		{"missing room", `{"type":"join"}`, CodeMissingField},
		{"missing id", `{"type":"send","room":"r","body":"x"}`, CodeMissingField},
		{"missing body", `{"type":"send","room":"r","id":"1"}`, CodeMissingField},
		{"long room", `{"type":"join","room":"` + long(RoomBytesMax+1) + `"}`, CodeFieldTooLong},
		{"long id", `{"type":"send","room":"r","id":"` + long(IDBytesMax+1) + `","body":"x"}`, CodeFieldTooLong},
		{"long body", `{"type":"send","room":"r","id":"1","body":"` + long(BodyBytesMax+1) + `"}`, CodeFieldTooLong},
		{"long epoch", `{"type":"join","room":"r","epoch":"` + long(EpochBytesMax+1) + `"}`, CodeFieldTooLong},
		{"long ref", `{"type":"join","room":"r","ref":"` + long(IDBytesMax+1) + `"}`, CodeFieldTooLong},
		{"ref on a send", `{"type":"send","room":"r","id":"1","body":"x","ref":"j1"}`, CodeUnknownField},
		{"ref on a leave", `{"type":"leave","room":"r","ref":"j1"}`, CodeUnknownField},
		{"repeated ref", `{"type":"join","room":"r","ref":"j1","ref":"j2"}`, CodeBadJSON},
		{"ref in another case", `{"type":"join","room":"r","Ref":"j1"}`, CodeUnknownField},
		{"bad room", `{"type":"join","room":"a/b"}`, CodeBadRoom},
		{"frame too large", `{"type":"send","room":"r","id":"1","body":"` + long(FrameBytesMax) + `"}`, CodeFrameTooLarge},
	}
	for _, c := range cases {
		_, reject := Decode([]byte(c.frame))
		if reject == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if reject.Code != c.code || reject.Message == "" {
			t.Errorf("%s: got %s %q, want %s with a message", c.name, reject.Code, reject.Message, c.code)
		}
	}
}

// A since the client cannot have seen (above 2^53-1, beyond what a JSON
// number carries exactly, up to and beyond uint64) is refused with its own
// code, naming the room; 2^53-1 itself is a since like any other.
func TestJoinSinceAboveSinceMaxIsOutOfRange(t *testing.T) {
	for _, since := range []string{"9007199254740992", "9223372036854775808", "18446744073709551615", "18446744073709551616", "123456789012345678901234567890"} {
		for _, frame := range []string{
			`{"type":"join","room":"lobby","since":` + since + `}`,
			`{"type":"join","room":"lobby","since":` + since + `,"epoch":"e1"}`,
			`{"since":` + since + `, "room":"lobby", "type":"join"}`,
		} {
			_, reject := Decode([]byte(frame))
			if reject == nil || reject.Code != CodeOutOfRange || reject.Ref != "lobby" || !strings.Contains(reject.Message, "9007199254740991") {
				t.Errorf("%s: got %+v; want out_of_range naming the room and the limit", frame, reject)
			}
		}
	}
	in, reject := Decode([]byte(`{"type":"join","room":"lobby","since":9007199254740991}`))
	if reject != nil || !in.HasSince || in.Since != SinceMax {
		t.Fatalf("since 2^53-1: %+v %v; want it accepted", in, reject)
	}
	for frame, code := range map[string]Code{
		`{"type":"join","room":"a b","since":9007199254740992}`:              CodeBadRoom,
		`{"type":"join","room":"a b","since":18446744073709551616}`:          CodeBadRoom,
		`{"type":"join","room":"r","since":-9007199254740992}`:               CodeBadJSON,
		`{"type":"join","room":"r","since":9007199254740992.5}`:              CodeBadJSON,
		`{"type":"join","room":"r","since":1e300}`:                           CodeBadJSON,
		`{"type":"join","x":1,"room":"r","since":18446744073709551616}`:      CodeUnknownField,
		`{"type":"join","room":"r","since":18446744073709551616,"room":"s"}`: CodeBadJSON,
	} {
		if _, reject := Decode([]byte(frame)); reject == nil || reject.Code != code {
			t.Errorf("%s: got %+v; want %s", frame, reject, code)
		}
	}
}

func TestRejectOfASendNamesItsID(t *testing.T) {
	_, reject := Decode([]byte(`{"type":"send","room":"r","id":"c1-9","body":""}`))
	if reject == nil || reject.Ref != "c1-9" || reject.Frame().Ref != "c1-9" || reject.Frame().Type != TypeError {
		t.Fatalf("reject = %+v, want ref c1-9", reject)
	}
}

func TestOutboundRoundTrip(t *testing.T) {
	frames := []any{
		Welcome{Type: TypeWelcome, Node: "n1", User: "u"},
		Joined{Type: TypeJoined, Room: "r", Head: 4, Epoch: "e"},
		Msg{Type: TypeMsg, Room: "r", Seq: 5, ID: "i", From: "alice", Body: "b", TS: 9, Epoch: "e"},
		Ack{Type: TypeAck, Room: "r", ID: "i", Seq: 5},
		Reset{Type: TypeReset, Room: "r", From: 3, Epoch: "e"},
		Error{Type: TypeError, Code: CodeRateLimited, Message: "m", Ref: "i"},
	}
	for _, frame := range frames {
		out, err := DecodeOutbound(Encode(frame))
		if err != nil {
			t.Fatalf("%T: %v", frame, err)
		}
		switch f := frame.(type) {
		case Msg:
			if out.FromUser != "alice" || out.Seq != 5 || out.TS != 9 {
				t.Errorf("msg decoded as %+v", out)
			}
		case Reset:
			if out.FromSeq != 3 || out.Epoch != "e" {
				t.Errorf("reset decoded as %+v", out)
			}
		case Error:
			if out.Code != f.Code || out.Ref != "i" {
				t.Errorf("error decoded as %+v", out)
			}
		}
	}
	if _, err := DecodeOutbound([]byte(`{"type":"nope"}`)); err == nil {
		t.Fatal("unknown node frame type accepted")
	}
}

// FuzzDecode checks that no input panics Decode, that every rejection has a
// code and a message, and that what Decode accepts is within the limits.
// Its seed corpus runs with every `go test`.
func FuzzDecode(f *testing.F) {
	seeds := []string{
		`{"type":"join","room":"r","since":1,"epoch":"e"}`,
		`{"type":"leave","room":"r"}`,
		`{"type":"send","room":"r","id":"1","body":"x"}`,
		`{"type":"send","room":"r","id":"1","body":"x","extra":1}`,
		`{"type":"join","room":"r","since":18446744073709551615}`,
		`{"type":"join","room":"r","since":18446744073709551616}`,
		`{"type":"join","room":"r","since":9007199254740991}`, `{"type":"join","room":"r","since":9007199254740992}`,
		"{\"type\":\"join\",\"room\":\"\xff\"}",
		`{"type":null}`, `null`, `"join"`, `{}`, ``, `{"type":"join","room":"r"}{"x":1}`,
	}
	for _, seed := range seeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in, reject := Decode(data)
		if reject != nil {
			if reject.Code == "" || reject.Message == "" {
				t.Fatalf("rejection without code or message: %+v", reject)
			}
			return
		}
		if !utf8.Valid(data) || len(data) > FrameBytesMax {
			t.Fatalf("accepted an invalid frame %q", data)
		}
		if CheckRoom(in.Room) != nil || len(in.ID) > IDBytesMax || len(in.Body) > BodyBytesMax || len(in.Epoch) > EpochBytesMax || len(in.Ref) > IDBytesMax || in.Since > SinceMax {
			t.Fatalf("accepted a frame beyond the limits: %+v", in)
		}
		if in.Type == TypeSend && (in.ID == "" || in.Body == "") {
			t.Fatalf("accepted a send without id or body: %+v", in)
		}
	})
}
