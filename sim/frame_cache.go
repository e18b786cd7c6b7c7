package sim

import "chatlab/system/protocol"

// frameCacheLenMax bounds the decoded frames kept: enough for every frame
// in flight to a room's members, small enough to stay cheap. When full the
// cache starts over.
const frameCacheLenMax = 4096

// frameKey names one frame's bytes: a node encodes a message once and
// writes the same bytes to every member, so the address of the first byte
// and the length identify it.
type frameKey struct {
	first *byte
	size  int
}

// decodedFrame is protocol.DecodeOutbound's answer for one frame.
type decodedFrame struct {
	frame protocol.Outbound
	err   error
}

// frameCache decodes each distinct node frame once per burst, however many
// clients receive it. Decoding is a pure function of the bytes and a frame's
// bytes are never modified after it is written, so a hit gives exactly what
// decoding again would; lookups never reach the output, so map order cannot.
type frameCache struct {
	decoded map[frameKey]decodedFrame
}

func (c *frameCache) decode(data []byte) (protocol.Outbound, error) {
	if len(data) == 0 {
		return protocol.DecodeOutbound(data)
	}
	key := frameKey{first: &data[0], size: len(data)}
	if hit, ok := c.decoded[key]; ok {
		return hit.frame, hit.err
	}
	if c.decoded == nil || len(c.decoded) >= frameCacheLenMax {
		c.decoded = make(map[frameKey]decodedFrame, frameCacheLenMax)
	}
	frame, err := protocol.DecodeOutbound(data)
	c.decoded[key] = decodedFrame{frame: frame, err: err}
	return frame, err
}
