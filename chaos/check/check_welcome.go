package check

import (
	"fmt"

	"chatlab/system/client"
)

// welcomeWaitMs is how long a connection may stay open at the end of a
// history without its welcome: a node greets a connection as soon as it
// accepts it, so one still waiting after this was never greeted.
const welcomeWaitMs = 5000

// checkWelcome checks that every connection is greeted before anything
// else: the first frame a connection brings the client is a welcome, and
// a connection open at the end of the history has had one. A connection
// that closed before its welcome (its node died, or the balancer found no
// backend) is counted, not flagged: nothing came over it.
func checkWelcome(ix *historyIndex, h History) Check {
	v := newVerdict(CheckWelcome)
	type connection struct {
		atMs               int64
		welcomed, reported bool
	}
	open := map[string]*connection{}
	var connections, unwelcomedClosed int
	for i := range h {
		r := &h[i]
		c := open[r.Client]
		switch r.Kind {
		case client.KindConnected:
			connections++
			open[r.Client] = &connection{atMs: r.AtMs}
		case client.KindDisconnected:
			if c != nil && !c.welcomed && !c.reported {
				unwelcomedClosed++
			}
			delete(open, r.Client)
		case client.KindWelcome:
			switch {
			case c == nil:
				v.add(Violation{Kind: "welcome_without_connection", Client: r.Client, AtMs: r.AtMs,
					Message: fmt.Sprintf("%s got a welcome from %s with no connection open", r.Client, r.Node)})
			case c.welcomed:
				v.add(Violation{Kind: "welcome_twice", Client: r.Client, AtMs: r.AtMs,
					Message: fmt.Sprintf("%s got a second welcome on one connection, from %s", r.Client, r.Node)})
			default:
				c.welcomed = true
			}
		case client.KindJoined, client.KindDelivered, client.KindAcked, client.KindReset:
			if c != nil && !c.welcomed && !c.reported {
				c.reported = true
				v.add(Violation{Kind: "frame_before_welcome", Client: r.Client, Room: r.Room, Seq: r.Seq, ID: r.ID, AtMs: r.AtMs,
					Message: fmt.Sprintf("%s got a %s on a connection opened at %d ms before any welcome", r.Client, r.Kind, c.atMs)})
			}
		}
	}
	for _, name := range ix.clients {
		if c := open[name]; c != nil && !c.welcomed && !c.reported && ix.endAtMs-c.atMs >= welcomeWaitMs {
			v.add(Violation{Kind: "no_welcome", Client: name, AtMs: c.atMs,
				Message: fmt.Sprintf("%s's connection opened at %d ms was never welcomed (the history ends at %d ms)", name, c.atMs, ix.endAtMs)})
		}
	}
	return v.done(fmt.Sprintf("%d connections, %d closed before their welcome, %d not welcomed first", connections, unwelcomedClosed, v.check.Violations))
}
