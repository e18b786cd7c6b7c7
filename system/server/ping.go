package server

import (
	"time"

	"chatlab/system/node"
)

// pingWheel spreads pings over the ping period (by default 9/10 of
// PongWait), so that a healthy peer's pong lands before its read deadline. It has one slot
// per loop tick of the period; a connection sits in slot id % slots and is
// pinged when the wheel passes it, so each tick touches a slice of the
// connections, not all of them. The ping goes out through the connection's
// short-lived writer, so an idle connection needs no goroutine of its own.
type pingWheel struct {
	slots []map[node.ConnID]*conn
	ticks int
}

func newPingWheel(pingPeriod time.Duration) pingWheel {
	slots := make([]map[node.ConnID]*conn, max(1, int(pingPeriod/tickInterval)))
	for i := range slots {
		slots[i] = map[node.ConnID]*conn{}
	}
	return pingWheel{slots: slots}
}

func (w *pingWheel) slot(c *conn) map[node.ConnID]*conn {
	return w.slots[uint64(c.id)%uint64(len(w.slots))]
}

func (w *pingWheel) add(c *conn)    { w.slot(c)[c.id] = c }
func (w *pingWheel) remove(c *conn) { delete(w.slot(c), c.id) }

// tick marks the current slot's connections for a ping.
func (w *pingWheel) tick(l *loop) {
	w.ticks = (w.ticks + 1) % len(w.slots)
	for _, c := range w.slots[w.ticks] {
		if !c.closed && c.closing == nil {
			c.pingDue = true
			l.markDirty(c)
		}
	}
}
