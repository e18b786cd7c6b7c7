package protocol

import (
	"reflect"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeInboundFast holds the fast path to the strict path's answers:
// for any frame the fast path reads, the strict path gives the same
// decoded frame, or the same rejection. Its seed corpus runs with every
// `go test`.
func FuzzDecodeInboundFast(f *testing.F) {
	for _, seed := range []string{
		`{"type":"join","room":"lobby"}`, `{"type":"join","room":"lobby","since":7,"epoch":"e.1"}`,
		`{"room":"lobby","since":0,"type":"join"}`, `{"type":"leave","room":"lobby"}`,
		`{"type":"send","room":"lobby","id":"c1-1","body":"héllo"}`, `{"type":"send","room":"a b","id":"1","body":"x"}`,
		`{"type":"send","room":"r","id":"","body":"x"}`, `{"type":"join","room":"r","id":"x"}`,
		`{"type":"join","room":"r","room":"s"}`, `{"Type":"join","room":"r"}`, `{"type":"join","room":"r","since":-1}`,
		`{"type":"join","room":"r","since":18446744073709551615}`, `{"type":"send","room":"r","id":"1","body":"a\"b"}`,
		`{"type":"join","room":"r"} `, `{"type":"join","room":"r"}x`, `{"type":"dance"}`, `{}`,
		`{"type":"send","room":"r","id":"1","body":"x","type":"join"}`, `{"type":"join","rOOm":"r"}`,
		`{"type":"join","room":"r","since":3,"epoch":"e","ref":"j7"}`, `{"type":"leave","room":"r","ref":"j7"}`,
		`{"type":"join","room":"r","ref":"j1","ref":"j2"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > FrameBytesMax || !utf8.Valid(data) {
			return
		}
		w, ok := decodeInboundFast(data)
		if !ok {
			return
		}
		fast, fastReject := checkInbound(w)
		reference, referenceReject := decodeReference(data)
		if !reflect.DeepEqual(fast, reference) || !reflect.DeepEqual(fastReject, referenceReject) {
			t.Fatalf("%q: fast path %+v %v, strict path %+v %v", data, fast, fastReject, reference, referenceReject)
		}
	})
}

func TestFastPathTakesWhatClientsWrite(t *testing.T) {
	for _, frame := range []any{
		Join{Type: TypeJoin, Room: "r", Epoch: "e"}, Join{Type: TypeJoin, Room: "r", Ref: "j1"}, Leave{Type: TypeLeave, Room: "r"},
		Send{Type: TypeSend, Room: "r", ID: "c1-1", Body: "hi"},
	} {
		if _, ok := decodeInboundFast(Encode(frame)); !ok {
			t.Errorf("fast path refused %s", Encode(frame))
		}
	}
}
