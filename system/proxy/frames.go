package proxy

import "encoding/binary"

// WebSocket framing (RFC 6455 section 5.2), only as far as the relay needs
// it: where frames end, so that a close frame of the proxy's own is never
// written into the middle of a relayed one, and whether a close went by.
const (
	frameHeaderBytesMax = 14 // 2 + 8 (64-bit length) + 4 (mask key)
	opcodeClose         = 0x8
	finBit              = 0x80
	maskBit             = 0x80
	// closeReasonBytesMax: a control frame's payload is at most 125 bytes,
	// two of which are the code.
	closeReasonBytesMax = 123
)

// frameTracker follows the frame boundaries of one direction of a
// WebSocket stream, holding a partial header but never payload.
type frameTracker struct {
	header      [frameHeaderBytesMax]byte
	headerLen   int
	payloadLeft uint64
	// sawClose: a close frame has begun; the sender will send no more data.
	sawClose bool
}

// atBoundary reports whether the bytes seen so far end a frame.
func (t *frameTracker) atBoundary() bool {
	return t.headerLen == 0 && t.payloadLeft == 0
}

// advance follows data through the stream.
func (t *frameTracker) advance(data []byte) {
	// Each pass consumes at least one byte.
	for len(data) > 0 {
		if t.payloadLeft > 0 {
			skip := min(t.payloadLeft, uint64(len(data)))
			t.payloadLeft -= skip
			data = data[skip:]
			continue
		}
		t.header[t.headerLen] = data[0]
		t.headerLen++
		data = data[1:]
		if need := t.headerBytes(); need > 0 && t.headerLen == need {
			t.endHeader()
		}
	}
}

// untilBoundary is how many leading bytes of data complete the frame in
// progress (0 at a boundary, len(data) if data does not complete it).
func (t *frameTracker) untilBoundary(data []byte) int {
	if t.atBoundary() {
		return 0
	}
	probe := *t
	// Each pass consumes one byte of data: bounded by len(data).
	for used := range len(data) {
		probe.advance(data[used : used+1])
		if probe.atBoundary() {
			return used + 1
		}
	}
	return len(data)
}

// headerBytes is the full header's length, or 0 while it is not yet known.
func (t *frameTracker) headerBytes() int {
	if t.headerLen < 2 {
		return 0
	}
	size := 2
	switch t.header[1] &^ maskBit {
	case 126:
		size += 2
	case 127:
		size += 8
	}
	if t.header[1]&maskBit != 0 {
		size += 4
	}
	return size
}

func (t *frameTracker) endHeader() {
	if t.header[0]&0x0f == opcodeClose {
		t.sawClose = true
	}
	switch length := t.header[1] &^ maskBit; length {
	case 126:
		t.payloadLeft = uint64(binary.BigEndian.Uint16(t.header[2:4]))
	case 127:
		t.payloadLeft = binary.BigEndian.Uint64(t.header[2:10])
	default:
		t.payloadLeft = uint64(length)
	}
	t.headerLen = 0
}

// closeFrame encodes a close frame with code and reason. A frame to a server
// must be masked; the key is zero, which RFC 6455 permits: masking guards
// against script-chosen bytes, and these bytes are the proxy's own.
func closeFrame(code int, reason string, masked bool) []byte {
	if len(reason) > closeReasonBytesMax {
		reason = reason[:closeReasonBytesMax]
	}
	payloadLen := 2 + len(reason)
	frame := make([]byte, 0, 2+4+payloadLen)
	frame = append(frame, finBit|opcodeClose)
	if masked {
		frame = append(frame, maskBit|byte(payloadLen), 0, 0, 0, 0)
	} else {
		frame = append(frame, byte(payloadLen))
	}
	frame = binary.BigEndian.AppendUint16(frame, uint16(code))
	return append(frame, reason...)
}
