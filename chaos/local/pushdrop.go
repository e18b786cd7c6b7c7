package local

import "bytes"

// pushPrefix starts every RESP2 pub/sub message push: an array of three,
// "message", the channel and the payload. The nodes speak RESP2 to Redis
// (broker.RedisConfig), so their pub/sub messages come so.
var pushPrefix = []byte("*3\r\n$7\r\nmessage\r\n")

// respLineMax bounds a RESP header line (a type byte and a length): a
// longer one is not RESP2 as Redis writes it.
const respLineMax = 32

// pushFilter drops whole pub/sub message pushes from what Redis sends one
// connection, a chunk at a time: it follows the stream's RESP2 frames so
// that it knows where each top-level frame starts and ends. A frame that
// begins while drop says yes to it is withheld until its first bytes show
// whether it is a push (pushPrefix); a push drop chose is left out whole,
// anything else passes on unchanged. Bytes that are not RESP2 as Redis
// writes it stop the filter: from then on the stream passes untouched.
type pushFilter struct {
	// drop is asked once per top-level frame whether to drop it should it
	// be a push; false passes the frame without withholding a byte.
	drop func() bool

	// line is the header line read so far; bulk the bytes (with CRLF) of
	// a bulk string still to come; open the elements still to come in
	// each open array, outermost first.
	line []byte
	bulk int
	open []int
	// inFrame: a top-level frame has begun. held are its bytes withheld
	// while undecided; deciding: it may yet be a push to drop; dropping:
	// it is one, being left out.
	inFrame, deciding, dropping bool
	held                        []byte
	broken                      bool
	// dropped counts the pushes left out.
	dropped int
}

// filter returns what of data passes on.
func (f *pushFilter) filter(data []byte) []byte {
	if f.broken {
		return data
	}
	out := make([]byte, 0, len(data))
	for i := 0; i < len(data); {
		if !f.inFrame {
			f.inFrame, f.deciding, f.dropping = true, f.drop(), false
			f.held = f.held[:0]
		}
		start := i
		ended := false
		if f.bulk > 0 {
			n := min(f.bulk, len(data)-i)
			i += n
			f.bulk -= n
			ended = f.bulk == 0 && f.elementDone()
		} else {
			c := data[i]
			i++
			f.line = append(f.line, c)
			if c == '\n' {
				var ok bool
				ended, ok = f.header()
				if !ok {
					return f.stop(out, data[start:])
				}
			} else if len(f.line) > respLineMax {
				return f.stop(out, data[start:])
			}
		}
		out = f.pass(out, data[start:i])
		if ended {
			if f.deciding {
				out = append(out, f.held...) // shorter than a push
			}
			f.inFrame = false
		}
	}
	return out
}

// stop gives up on a stream that is not RESP2 as Redis writes it: what was
// withheld and the rest pass on, and so does everything after.
func (f *pushFilter) stop(out, rest []byte) []byte {
	f.broken = true
	if f.deciding {
		out = append(out, f.held...)
	}
	return append(out, rest...)
}

// pass hands on, withholds or leaves out a span of the current frame.
func (f *pushFilter) pass(out, span []byte) []byte {
	switch {
	case f.dropping:
		return out
	case !f.deciding:
		return append(out, span...)
	}
	f.held = append(f.held, span...)
	switch {
	case len(f.held) >= len(pushPrefix) && bytes.HasPrefix(f.held, pushPrefix):
		f.deciding, f.dropping = false, true
		f.dropped++
		return out
	case len(f.held) < len(pushPrefix) && bytes.HasPrefix(pushPrefix, f.held):
		return out // maybe a push: wait for more
	}
	f.deciding = false
	return append(out, f.held...)
}

// header reads the complete header line: ended says a top-level frame
// ended with it; ok is false for a line that is not RESP2.
func (f *pushFilter) header() (ended, ok bool) {
	line := f.line
	f.line = f.line[:0]
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return false, false
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+', '-', ':':
		return f.elementDone(), true
	case '$', '*':
		n, ok := respLength(body)
		if !ok {
			return false, false
		}
		if n <= 0 && !(line[0] == '$' && n == 0) {
			return f.elementDone(), true // a null, or an empty array
		}
		if line[0] == '$' {
			f.bulk = n + 2
			return false, true
		}
		f.open = append(f.open, n)
		return false, true
	}
	return false, false
}

// elementDone counts one element of the innermost open array, closing the
// arrays it completes; true when that ends the top-level frame.
func (f *pushFilter) elementDone() bool {
	for len(f.open) > 0 {
		last := len(f.open) - 1
		f.open[last]--
		if f.open[last] > 0 {
			return false
		}
		f.open = f.open[:last]
	}
	return true
}

// respLength reads a header's length: digits, or -1.
func respLength(body []byte) (int, bool) {
	if string(body) == "-1" {
		return -1, true
	}
	if len(body) == 0 || len(body) > 12 {
		return 0, false
	}
	n := 0
	for _, c := range body {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = 10*n + int(c-'0')
	}
	return n, true
}
