package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Frames framed by writeFrames, in one write, read back by gorilla as
// separate text messages, byte for byte, at every payload length encoding
// (7-bit, 16-bit and 64-bit), with a gorilla control frame after them.
func TestWriteFramesAreGorillaTextMessages(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 127, 1000, 0xffff, 0x10000, 70000}
	var frames []outbound
	for i, size := range sizes {
		frames = append(frames, outbound{data: bytes.Repeat([]byte{'a' + byte(i)}, size)})
	}
	written := make(chan error, 1)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			written <- err
			return
		}
		deadline := time.Now().Add(time.Minute)
		err = writeFrames(ws.NetConn(), deadline, frames)
		if err == nil {
			err = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4000, "bye"), deadline)
		}
		written <- err
	}))
	defer server.Close()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(server.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	for i, want := range frames {
		kind, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("message %d (%d bytes): %v", i, sizes[i], err)
		}
		if kind != websocket.TextMessage || !bytes.Equal(data, want.data) {
			t.Fatalf("message %d: kind %d, %d bytes, want text of %d bytes", i, kind, len(data), len(want.data))
		}
	}
	if _, _, err := ws.ReadMessage(); !websocket.IsCloseError(err, 4000) {
		t.Fatalf("after the frames: %v, want close 4000", err)
	}
	if err := <-written; err != nil {
		t.Fatal(err)
	}
}
