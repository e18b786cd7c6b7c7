package server

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// maskedFrame is one final client frame: client frames are masked, and a
// zero mask key leaves the payload as it is.
func maskedFrame(opcode byte, payload string) []byte {
	if len(payload) > 125 {
		panic("maskedFrame: payload over 125 bytes")
	}
	frame := []byte{0x80 | opcode, 0x80 | byte(len(payload)), 0, 0, 0, 0}
	return append(frame, payload...)
}

const (
	opText = 0x1
	opPong = 0xA
)

// The reader waits on the socket only between frames, when its read buffer
// is empty: frames that arrive together, pongs among them, are each read,
// whatever order they come in and however they split across writes.
func TestFramesArrivingTogetherAreEachRead(t *testing.T) {
	m := miniredis.RunT(t)
	srv := startNode(t, m, "a", func(cfg *Config) { cfg.Auth, cfg.Secret = false, nil })
	join := func(room string) string { return `{"type":"join","room":"` + room + `"}` }
	cases := []struct {
		name   string
		writes [][]byte
		rooms  []string
	}{
		{"two joins in one write", [][]byte{append(maskedFrame(opText, join("r1")), maskedFrame(opText, join("r2"))...)}, []string{"r1", "r2"}},
		{"a pong then a join in one write", [][]byte{append(maskedFrame(opPong, "p"), maskedFrame(opText, join("r1"))...)}, []string{"r1"}},
		{"pongs around joins", [][]byte{append(append(maskedFrame(opPong, ""), maskedFrame(opText, join("r1"))...), maskedFrame(opPong, "x")...),
			maskedFrame(opText, join("r2"))}, []string{"r1", "r2"}},
		{"a pong split across writes, then a join", func() [][]byte {
			pong := maskedFrame(opPong, "split")
			return [][]byte{pong[:3], append(pong[3:], maskedFrame(opText, join("r1"))...)}
		}(), []string{"r1"}},
		{"a join split across writes", func() [][]byte {
			frame := maskedFrame(opText, join("r1"))
			return [][]byte{frame[:4], frame[4:9], frame[9:]}
		}(), []string{"r1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, srv, userQuery("u"))
			defer c.ws.Close()
			for _, data := range tc.writes {
				if _, err := c.ws.NetConn().Write(data); err != nil {
					t.Fatal(err)
				}
			}
			// Each room's join waits on its own fetch: the answers may come
			// in any order.
			want := map[string]bool{}
			for _, room := range tc.rooms {
				want[room] = true
			}
			for range tc.rooms {
				got := c.nextOf("joined")
				if !want[got.Room] {
					t.Fatalf("joined %q, want one of %v once each", got.Room, tc.rooms)
				}
				delete(want, got.Room)
			}
		})
	}
}

// An idle connection holds no goroutine: its socket waits on the poller
// (Linux), and nothing runs for it until a frame arrives or its read
// deadline passes. It used to keep a reader goroutine parked on its socket.
func TestIdleConnectionsHoldNoGoroutine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the socket poller is Linux's epoll; elsewhere each connection keeps a reader")
	}
	const idle = 50
	m := miniredis.RunT(t)
	srv := startNode(t, m, "a", func(cfg *Config) { cfg.Auth, cfg.Secret = false, nil })
	before := runtime.NumGoroutine()
	for i := range idle {
		conn := rawConnect(t, srv.Addr(), fmt.Sprintf("idle-%d", i))
		defer conn.Close()
	}
	waitConnections(t, srv, idle)
	// The welcomes' writers end soon after their writes; a goroutine per
	// connection would leave idle more for good.
	deadline := time.Now().Add(testWait)
	for {
		grown := runtime.NumGoroutine() - before
		if grown < idle/5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d more goroutines with %d idle connections; want none per connection", grown, idle)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The connections still work: one joins a room.
	c := dial(t, srv, userQuery("active"))
	defer c.ws.Close()
	c.join("lobby")
}
