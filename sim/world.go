package sim

import (
	"math/rand/v2"
	"time"
)

// World is the event loop: a virtual clock, an event heap ordered by
// (time, sequence), the root of all randomness and the trace.
type World struct {
	now    time.Duration
	seq    uint64
	events eventHeap
	root   *rand.Rand
	trace  Trace
	// processed counts events run, for the benchmark's events/s.
	processed uint64
}

// event is one scheduled step. host, when set, is the host the step runs
// on: a paused host defers it, a crashed host (changed incarnation) drops it.
type event struct {
	at          time.Duration
	seq         uint64
	host        *host
	incarnation uint64
	kind        string
	subject     string
	detail      uint64
	run         func()
}

// goldenRatio64 spreads the seed into PCG's second state word so that
// seeds 0, 1, 2... do not start from related streams.
const goldenRatio64 = 0x9e3779b97f4a7c15

// NewWorld returns an empty world at virtual time zero whose randomness all
// derives from seed.
func NewWorld(seed uint64) *World {
	return &World{root: rand.New(rand.NewPCG(seed, seed^goldenRatio64)), trace: newTrace()}
}

// Now is the virtual time.
func (w *World) Now() time.Duration { return w.now }

// NewRandom derives an independent random source for one component. The
// caller must create components in a fixed order: the n-th call always
// gets the same source for the same seed.
func (w *World) NewRandom() *rand.Rand {
	return rand.New(rand.NewPCG(w.root.Uint64(), w.root.Uint64()))
}

// Trace is the running record of every processed event.
func (w *World) Trace() *Trace { return &w.trace }

// Processed is how many events have run.
func (w *World) Processed() uint64 { return w.processed }

// Pending is how many events are scheduled and not yet run.
func (w *World) Pending() int { return w.events.len() }

// At schedules run at virtual time at (not before now). kind, subject and
// detail describe the event in the trace: kind is a constant name
// ("deliver", "tick"), subject the host or connection, detail a number
// such as a payload digest.
func (w *World) At(at time.Duration, kind, subject string, detail uint64, run func()) {
	w.schedule(at, nil, kind, subject, detail, run)
}

// After schedules run after delay d from now.
func (w *World) After(d time.Duration, kind, subject string, detail uint64, run func()) {
	w.schedule(w.now+d, nil, kind, subject, detail, run)
}

func (w *World) schedule(at time.Duration, h *host, kind, subject string, detail uint64, run func()) {
	if at < w.now {
		at = w.now
	}
	w.seq++
	e := event{at: at, seq: w.seq, host: h, kind: kind, subject: subject, detail: detail, run: run}
	if h != nil {
		e.incarnation = h.incarnation
	}
	w.events.push(e)
}

// Step runs the next event. It reports false when there is none.
func (w *World) Step() bool {
	if w.events.len() == 0 {
		return false
	}
	e := w.events.pop()
	w.now = e.at
	if e.host != nil {
		if e.incarnation != e.host.incarnation {
			return true // the host crashed after this was scheduled: its state is gone
		}
		if e.host.paused {
			e.host.deferred = append(e.host.deferred, e)
			return true
		}
	}
	w.processed++
	w.trace.record(e.at, e.seq, e.kind, e.subject, e.detail)
	e.run()
	return true
}

// RunUntil runs every event scheduled up to and including virtual time t,
// then sets the clock to t.
func (w *World) RunUntil(t time.Duration) {
	for w.events.len() > 0 && w.events.peek() <= t {
		w.Step()
	}
	if w.now < t {
		w.now = t
	}
}

// eventHeap is a binary min-heap on (at, seq). The heap itself holds only
// small keys without pointers, so that sifting moves no pointers (no GC
// write barriers); the events wait in slots, reused through a free list.
type eventHeap struct {
	keys  []eventKey
	slots []event
	free  []uint32
}

type eventKey struct {
	at   time.Duration
	seq  uint64
	slot uint32
}

func (h *eventHeap) len() int { return len(h.keys) }

// peek is the time of the next event; the heap must not be empty.
func (h *eventHeap) peek() time.Duration { return h.keys[0].at }

func less(a, b eventKey) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

func (h *eventHeap) push(e event) {
	var slot uint32
	if n := len(h.free); n > 0 {
		slot = h.free[n-1]
		h.free = h.free[:n-1]
		h.slots[slot] = e
	} else {
		slot = uint32(len(h.slots))
		h.slots = append(h.slots, e)
	}
	h.keys = append(h.keys, eventKey{at: e.at, seq: e.seq, slot: slot})
	keys := h.keys
	i := len(keys) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !less(keys[i], keys[parent]) {
			break
		}
		keys[i], keys[parent] = keys[parent], keys[i]
		i = parent
	}
}

func (h *eventHeap) pop() event {
	keys := h.keys
	top := keys[0]
	last := len(keys) - 1
	keys[0] = keys[last]
	keys = keys[:last]
	i := 0
	for {
		left, right, least := 2*i+1, 2*i+2, i
		if left < len(keys) && less(keys[left], keys[least]) {
			least = left
		}
		if right < len(keys) && less(keys[right], keys[least]) {
			least = right
		}
		if least == i {
			break
		}
		keys[i], keys[least] = keys[least], keys[i]
		i = least
	}
	h.keys = keys
	e := h.slots[top.slot]
	h.slots[top.slot] = event{} // drop the closure so it can be collected
	h.free = append(h.free, top.slot)
	return e
}
