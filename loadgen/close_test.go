package loadgen

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/gorilla/websocket"
)

// A read error that broke the framing (the peer's stream was cut short or
// spliced) is the client's own close 1002, not a connection that just
// ended (1006): the checks tell them apart.
func TestCloseOfTellsABrokenStreamFromAnEndedOne(t *testing.T) {
	for _, tc := range []struct {
		err    error
		code   int
		reason string
	}{
		{&websocket.CloseError{Code: 4000, Text: "draining"}, 4000, "draining"},
		{io.EOF, websocket.CloseAbnormalClosure, ""},
		{fmt.Errorf("read tcp 127.0.0.1:1->127.0.0.1:2: %w", io.ErrUnexpectedEOF), websocket.CloseAbnormalClosure, ""},
		{&websocket.CloseError{Code: websocket.CloseAbnormalClosure, Text: io.ErrUnexpectedEOF.Error()}, websocket.CloseAbnormalClosure, io.ErrUnexpectedEOF.Error()},
		{errors.New("websocket: unexpected reserved bits 0x40"), websocket.CloseProtocolError, "websocket: unexpected reserved bits 0x40"},
		{websocket.ErrReadLimit, websocket.CloseAbnormalClosure, ""},
	} {
		if code, reason := closeOf(tc.err); code != tc.code || reason != tc.reason {
			t.Errorf("closeOf(%v) = %d %q, want %d %q", tc.err, code, reason, tc.code, tc.reason)
		}
	}
}
