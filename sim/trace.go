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
// detail) with FNV-64a and, when Keep is on, keeps one line per event.
// Two runs with the same hash processed the same events in the same order
// at the same virtual times with the same payloads.
type Trace struct {
	hash   uint64
	keep   bool
	lines  []string
	buffer [16]byte
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
	binary.LittleEndian.PutUint64(t.buffer[0:8], uint64(at))
	binary.LittleEndian.PutUint64(t.buffer[8:16], seq)
	t.mix(t.buffer[:])
	t.mixString(kind)
	t.mixString(subject)
	binary.LittleEndian.PutUint64(t.buffer[0:8], detail)
	t.mix(t.buffer[0:8])
	if t.keep && len(t.lines) < traceLinesMax {
		t.lines = append(t.lines, fmt.Sprintf("%d %d %s %s %x", at.Microseconds(), seq, kind, subject, detail))
	}
}

func (t *Trace) mix(data []byte) {
	for _, b := range data {
		t.hash ^= uint64(b)
		t.hash *= fnvPrime64
	}
}

func (t *Trace) mixString(s string) {
	for i := 0; i < len(s); i++ {
		t.hash ^= uint64(s[i])
		t.hash *= fnvPrime64
	}
	// A separator so that ("ab","c") and ("a","bc") differ.
	t.hash ^= 0xff
	t.hash *= fnvPrime64
}

// digest is the FNV-64a of a payload, for trace details.
func digest(data []byte) uint64 {
	h := uint64(fnvOffset64)
	for _, b := range data {
		h ^= uint64(b)
		h *= fnvPrime64
	}
	return h
}
