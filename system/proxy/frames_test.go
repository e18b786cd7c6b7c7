package proxy

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

// encodeFrame builds one frame as RFC 6455 lays it out.
func encodeFrame(opcode byte, payload []byte, masked bool) []byte {
	frame := []byte{finBit | opcode}
	maskFlag := byte(0)
	if masked {
		maskFlag = maskBit
	}
	switch n := len(payload); {
	case n < 126:
		frame = append(frame, maskFlag|byte(n))
	case n <= 0xffff:
		frame = append(frame, maskFlag|126)
		frame = binary.BigEndian.AppendUint16(frame, uint16(n))
	default:
		frame = append(frame, maskFlag|127)
		frame = binary.BigEndian.AppendUint64(frame, uint64(n))
	}
	if masked {
		frame = append(frame, 1, 2, 3, 4)
	}
	return append(frame, payload...)
}

func TestFrameTrackerFindsEveryBoundaryInAnyChunking(t *testing.T) {
	random := rand.New(rand.NewPCG(7, 7))
	var stream []byte
	var ends []int // offsets where frames end
	for i, size := range []int{0, 1, 125, 126, 127, 65535, 65536, 70000, 3} {
		stream = append(stream, encodeFrame(0x1, bytes.Repeat([]byte{'x'}, size), i%2 == 0)...)
		ends = append(ends, len(stream))
	}
	isEnd := map[int]bool{}
	for _, end := range ends {
		isEnd[end] = true
	}
	for round := range 20 {
		var tracker frameTracker
		offset := 0
		// Feed the stream in random chunks, each checked at its end.
		for offset < len(stream) {
			chunk := min(len(stream)-offset, 1+random.IntN(3000))
			if until := tracker.untilBoundary(stream[offset : offset+chunk]); until > 0 && !isEnd[offset+until] && offset+until != offset+chunk {
				t.Fatalf("round %d: untilBoundary at %d says %d, not a frame end", round, offset, until)
			}
			tracker.advance(stream[offset : offset+chunk])
			offset += chunk
			if tracker.atBoundary() != isEnd[offset] {
				t.Fatalf("round %d: at %d atBoundary=%v, frame end=%v", round, offset, tracker.atBoundary(), isEnd[offset])
			}
		}
	}
}

func TestFrameTrackerNoticesAClose(t *testing.T) {
	var tracker frameTracker
	tracker.advance(encodeFrame(0x1, []byte("hello"), false))
	if tracker.sawClose {
		t.Fatal("a text frame counted as a close")
	}
	tracker.advance(closeFrame(4000, "reconnect", true))
	if !tracker.sawClose || !tracker.atBoundary() {
		t.Fatalf("close frame: sawClose=%v boundary=%v", tracker.sawClose, tracker.atBoundary())
	}
}

func TestCloseFrameLayout(t *testing.T) {
	want := append([]byte{0x88, 11, 0x0f, 0xa0}, "reconnect"...)
	if got := closeFrame(4000, "reconnect", false); !bytes.Equal(got, want) {
		t.Fatalf("unmasked close % x, want % x", got, want)
	}
	masked := closeFrame(1001, "", true)
	if !bytes.Equal(masked, []byte{0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe9}) {
		t.Fatalf("masked close % x", masked)
	}
	if long := closeFrame(4000, string(bytes.Repeat([]byte{'r'}, 300)), false); len(long) != 2+125 {
		t.Fatalf("a long reason made a %d-byte control frame", len(long))
	}
}

// TestCloseWaitsForTheFrameInProgress: a shed during a half-written frame
// finishes that frame, then closes, then drops what follows.
func TestCloseWaitsForTheFrameInProgress(t *testing.T) {
	proxyEnd, peerEnd := net.Pipe()
	defer proxyEnd.Close()
	received := make(chan []byte)
	go func() {
		data, _ := io.ReadAll(peerEnd)
		received <- data
	}()
	s := &side{conn: proxyEnd, writeWait: time.Second}
	frame := encodeFrame(0x1, bytes.Repeat([]byte{'m'}, 1000), false)
	next := encodeFrame(0x1, []byte("after the close"), false)
	if err := s.relay(frame[:400]); err != nil {
		t.Fatal(err)
	}
	if err := s.sendClose(4000, "reconnect"); err != nil {
		t.Fatal(err)
	}
	if err := s.relay(append(append([]byte{}, frame[400:]...), next...)); err != nil {
		t.Fatal(err)
	}
	if err := s.relay(next); err != nil {
		t.Fatal(err)
	}
	proxyEnd.Close()
	want := append(append([]byte{}, frame...), closeFrame(4000, "reconnect", false)...)
	if got := <-received; !bytes.Equal(got, want) {
		t.Fatalf("peer received %d bytes, want the frame then the close (%d bytes)", len(got), len(want))
	}
}
