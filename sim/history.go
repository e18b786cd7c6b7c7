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

// historyChunk is how many events one block of the history holds. A run
// records hundreds of thousands of events of about 250 bytes each; growing
// one slice by doubling copied (and made the collector rescan) all of them
// again and again, so they are kept in fixed blocks and joined only when
// someone asks for the history.
const historyChunk = 4096

// History is every client event so far, in the order they happened. The
// joined slice is kept, and later calls only append what came since.
func (c *Cluster) History() []HistoryEvent {
	if len(c.historyBlocks) == 0 {
		return c.history
	}
	for _, block := range c.historyBlocks {
		c.history = append(c.history, block...)
	}
	c.historyBlocks = c.historyBlocks[:0]
	return c.history
}

func (c *Cluster) record(name string, events []client.Event) {
	for _, e := range events {
		n := len(c.historyBlocks)
		if n == 0 || len(c.historyBlocks[n-1]) == historyChunk {
			c.historyBlocks = append(c.historyBlocks, make([]HistoryEvent, 0, historyChunk))
			n++
		}
		c.historyBlocks[n-1] = append(c.historyBlocks[n-1], HistoryEvent{At: c.world.now, Client: name, Event: e})
	}
}
