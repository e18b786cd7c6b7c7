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

// BenchmarkWriteBatch writes a writer's batch of 64 frames of a fanout
// (150 bytes each, a 64-byte body's msg frame) to a client over loopback
// TCP: framed into one buffer and written in one call (writeFrames, what
// the writer does), against one gorilla WriteMessage (one write) per frame.
// The client reads and discards in its own goroutine.
func BenchmarkWriteBatch(b *testing.B) {
	frames := make([]outbound, 64)
	for i := range frames {
		frames[i] = outbound{data: bytes.Repeat([]byte{'x'}, 150), counted: true}
	}
	for _, mode := range []string{"one-write", "write-per-frame"} {
		b.Run(mode, func(b *testing.B) {
			conns := make(chan *websocket.Conn, 1)
			server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
				if err != nil {
					b.Error(err)
					return
				}
				conns <- ws
			}))
			defer server.Close()
			client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(server.URL, "http"), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer client.Close()
			go func() {
				for {
					if _, _, err := client.NextReader(); err != nil {
						return
					}
				}
			}()
			ws := <-conns
			defer ws.Close()
			deadline := time.Now().Add(time.Hour)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if mode == "one-write" {
					if err := writeFrames(ws.NetConn(), deadline, frames); err != nil {
						b.Fatal(err)
					}
					continue
				}
				for _, frame := range frames {
					if err := ws.WriteMessage(websocket.TextMessage, frame.data); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*len(frames))/b.Elapsed().Seconds(), "frames/s")
		})
	}
}
