package sim

import (
	"time"

	"chatlab/system/client"
)

// HistoryEvent is one client event with the virtual time it happened and
// the client it happened to: the raw material of every check.
type HistoryEvent struct {
	At     time.Duration `json:"at"`
	Client string        `json:"client"`
	client.Event
}

// History is every client event so far, in the order they happened.
func (c *Cluster) History() []HistoryEvent { return c.history }

func (c *Cluster) record(name string, events []client.Event) {
	for _, e := range events {
		c.history = append(c.history, HistoryEvent{At: c.world.now, Client: name, Event: e})
	}
}
