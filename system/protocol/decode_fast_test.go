package protocol

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeOutboundFast holds the fast path to encoding/json's answers:
// whatever the fast path accepts, encoding/json accepts too, with the same
// result. Its seed corpus runs with every `go test`.
func FuzzDecodeOutboundFast(f *testing.F) {
	for _, frame := range []any{
		Welcome{Type: TypeWelcome, Node: "n1", User: "alice"},
		Joined{Type: TypeJoined, Room: "r", Head: 4, Epoch: "e.1"},
		Msg{Type: TypeMsg, Room: "r", Seq: 5, ID: "c1-1", From: "alice", Body: "héllo ✓", TS: 1764237000123, Epoch: "e"},
		Msg{Type: TypeMsg, Room: "r", Seq: 5, ID: "c1-1", From: "alice", Body: "quote \" and \n newline", TS: -3},
		Ack{Type: TypeAck, Room: "r", ID: "c1-1", Seq: 18446744073709551615},
		Reset{Type: TypeReset, Room: "r", From: 3, Epoch: "e"},
		Error{Type: TypeError, Code: CodeRateLimited, Message: "slow down", Ref: "c1-2"},
	} {
		f.Add(Encode(frame))
	}
	for _, text := range []string{
		`{}`, ` { "type" : "msg" , "seq" : 7 } `, `{"type":"msg","seq":07}`, `{"type":"msg","seq":1.5}`,
		`{"type":"msg","seq":18446744073709551616}`, `{"type":"msg","ts":-9223372036854775808}`,
		`{"type":"msg","ts":9223372036854775808}`, `{"type":"msg","ts":-0}`, `{"TYPE":"msg"}`,
		`{"type":"msg","from":"a","from":7}`, `{"type":"msg","body":null}`, `{"type":"msg"} x`,
		`{"type":"msg","extra":{"a":1}}`, "{\"type\":\"msg\",\"body\":\"\xff\"}", `{"type":"msg",}`,
		// Frames cut off after a field, or with junk between fields: a whole
		// frame of the node's ends each field with ',' or '}'.
		`{"type":"msg"`, `{"type":"msg","seq":7`, `{"type":"msg","room":"r" "seq":7}`,
	} {
		f.Add([]byte(text))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := decodeOutboundFast(data)
		if !ok {
			return
		}
		var reference outboundWire
		if err := json.Unmarshal(data, &reference); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json refuses it: %v", data, err)
		}
		if fast != reference {
			t.Fatalf("%q: fast path %+v, encoding/json %+v", data, fast, reference)
		}
	})
}

func TestFastPathTakesWhatNodesWrite(t *testing.T) {
	data := Encode(Msg{Type: TypeMsg, Room: "r", Seq: 9, ID: "c1-1", From: "alice", Body: "hi", TS: 5, Epoch: "e"})
	if _, ok := decodeOutboundFast(data); !ok {
		t.Fatalf("fast path refused a node's own msg frame %s", data)
	}
	escaped := Encode(Msg{Type: TypeMsg, Room: "r", Seq: 9, ID: "c1-1", From: "alice", Body: `say "hi"`})
	out, err := DecodeOutbound(escaped)
	if err != nil || out.Body != `say "hi"` {
		t.Fatalf("escaped body through the fallback: %+v %v", out, err)
	}
}
