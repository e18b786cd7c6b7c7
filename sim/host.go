package sim

import "time"

// host is one simulated process: a node, the balancer, a client or Redis.
// Events scheduled on a host run only while it is up and not paused.
type host struct {
	name string
	// incarnation changes on every crash: events scheduled for an earlier
	// incarnation are dropped, as the process that would run them is gone.
	incarnation uint64
	up          bool
	// paused: the process is frozen (SIGSTOP). Its events queue up in
	// deferred, in order, and run on resume.
	paused   bool
	deferred []event
}

func newHost(name string) *host { return &host{name: name, up: true} }

// on schedules run on host h after delay d from now.
func (w *World) on(h *host, d time.Duration, kind string, detail uint64, run func()) {
	w.schedule(w.now+d, h, kind, h.name, detail, run)
}

// crash ends the process: every event scheduled for it is dropped.
func (w *World) crash(h *host) {
	h.incarnation++
	h.up = false
	h.paused = false
	h.deferred = nil
}

// start brings a crashed process back as a new incarnation.
func (w *World) start(h *host) {
	h.up = true
}

func (w *World) pause(h *host) { h.paused = true }

// resume unfreezes the process: what queued up while it was paused runs
// now, in the order it arrived.
func (w *World) resume(h *host) {
	if !h.paused {
		return
	}
	h.paused = false
	deferred := h.deferred
	h.deferred = nil
	for _, e := range deferred {
		w.schedule(w.now, h, e.kind, e.subject, e.detail, e.run)
	}
}
