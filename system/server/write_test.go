package server

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"chatlab/system/protocol"
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

// Inputs that wait for the loop while it is busy reach each connection in
// one write: the loop takes them all (up to inputsPerWriteMax) before it
// starts the writers, so a burst of room messages costs a member one
// system call, not one per message.
func TestWaitingInputsShareOneWrite(t *testing.T) {
	m := miniredis.RunT(t)
	srv := startNode(t, m, "a", nil)
	alice := dial(t, srv, "token="+token(t, "alice"))
	alice.join("lobby")
	// The welcome and the joined are written and reported.
	waitCounter(t, srv.metrics.framesWritten, 2)
	writesBefore := counterValue(srv.metrics.frameWrites)

	const messages = 10
	release := make(chan struct{})
	busy := make(chan struct{})
	srv.loop.submit(func(*loop) {
		close(busy)
		<-release
	})
	<-busy
	for seq := uint64(1); seq <= messages; seq++ {
		srv.loop.submit(func(l *loop) {
			l.node.Message(protocol.Msg{Type: protocol.TypeMsg, Room: "lobby", Seq: seq, ID: fmt.Sprint(seq), From: "bob", Body: "hi"})
		})
	}
	close(release)
	for seq := uint64(1); seq <= messages; seq++ {
		if msg := alice.nextOf(protocol.TypeMsg); msg.Seq != seq {
			t.Fatalf("got seq %d, want %d", msg.Seq, seq)
		}
	}
	waitCounter(t, srv.metrics.framesWritten, 2+messages)
	if writes := counterValue(srv.metrics.frameWrites) - writesBefore; writes != 1 {
		t.Fatalf("%d messages waiting for the loop went out in %v writes, want 1", messages, writes)
	}
}

func counterValue(counter prometheus.Counter) float64 {
	var metric dto.Metric
	if err := counter.Write(&metric); err != nil {
		panic(err)
	}
	return metric.GetCounter().GetValue()
}

// waitCounter waits until counter reaches want (writers report after the
// client may have read their frames).
func waitCounter(t testing.TB, counter prometheus.Counter, want float64) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for counterValue(counter) < want {
		if time.Now().After(deadline) {
			t.Fatalf("counter at %v, not %v, after %s", counterValue(counter), want, testWait)
		}
		time.Sleep(time.Millisecond)
	}
}
