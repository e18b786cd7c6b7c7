package sim

import (
	"encoding/binary"
	"fmt"
	"time"
)

// traceLinesMax bounds the kept trace lines: a debugging aid must not grow
// without limit in a long run. The hash always covers every event.
const traceLinesMax = 1_000_000

// Trace hashes every processed event (time, sequence, kind, subject,
// detail) and, when Keep is on, keeps one line per event. Two runs with the
// same hash processed the same events in the same order at the same virtual
// times with the same payloads. The hash takes 64-bit words, not bytes
// (FNV-64a's step applied per word, then the high half folded down so a
// word's high bits reach the low ones): it runs once per event and over
// every frame's bytes, and every step is a bijection of the running hash,
// so one differing word always yields a different hash.
type Trace struct {
	hash  uint64
	keep  bool
	lines []string
}

func newTrace() Trace { return Trace{hash: fnvOffset64} }

// Keep turns line keeping on or off (off by default: it costs memory).
func (t *Trace) Keep(on bool) { t.keep = on }

// Lines returns the kept lines, "<µs> <seq> <kind> <subject> <detail>".
func (t *Trace) Lines() []string { return t.lines }

// Hash is the running FNV-64a hash over every processed event.
func (t *Trace) Hash() uint64 { return t.hash }

const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

func (t *Trace) record(at time.Duration, seq uint64, kind, subject string, detail uint64) {
	h := mixWord(t.hash, uint64(at))
	h = mixWord(h, seq)
	h = mixString(h, kind)
	h = mixString(h, subject)
	t.hash = mixWord(h, detail)
	if t.keep && len(t.lines) < traceLinesMax {
		t.lines = append(t.lines, fmt.Sprintf("%d %d %s %s %x", at.Microseconds(), seq, kind, subject, detail))
	}
}

func mixWord(h, w uint64) uint64 {
	h ^= w
	h *= fnvPrime64
	return h ^ h>>32
}

// mixString mixes s eight bytes at a time, then its length, so that
// ("ab","c") and ("a","bc") differ.
func mixString(h uint64, s string) uint64 {
	for len(s) >= 8 {
		h = mixWord(h, uint64(s[0])|uint64(s[1])<<8|uint64(s[2])<<16|uint64(s[3])<<24|
			uint64(s[4])<<32|uint64(s[5])<<40|uint64(s[6])<<48|uint64(s[7])<<56)
		s = s[8:]
	}
	var tail uint64
	for i := 0; i < len(s); i++ {
		tail |= uint64(s[i]) << (8 * i)
	}
	return mixWord(mixWord(h, tail), uint64(len(s))|0xff<<56)
}

// digest is a 64-bit hash of a payload, for trace details.
func digest(data []byte) uint64 {
	h := uint64(fnvOffset64)
	for len(data) >= 8 {
		h = mixWord(h, binary.LittleEndian.Uint64(data))
		data = data[8:]
	}
	var tail uint64
	for i, b := range data {
		tail |= uint64(b) << (8 * i)
	}
	return mixWord(mixWord(h, tail), uint64(len(data)))
}
