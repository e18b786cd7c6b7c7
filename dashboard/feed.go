// Package dashboard is chatlab's live dashboard: the embedded React app
// (built from src/ into dist/app), the HTTP API it reads (/api/feed,
// /api/runs, /api/chat), the Feed that the chaos runner and the Watcher
// publish into, and the Watcher that polls a running cluster's /state.
package dashboard

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
)

// Bounds on what a Feed keeps and queues. A new subscriber is first sent
// what the feed kept, so its queue must hold all of it at once.
const (
	// recentLenMax is how many stats, fault and log events are kept for
	// browsers that connect late: about 15 minutes of once-a-second stats.
	recentLenMax = 1024
	// componentsMax and checksMax bound the latest-state-per-name tables.
	componentsMax = 64
	checksMax     = 64
	// subscriberQueueLenMax is the events a browser may have unsent before
	// it is cut off: the replay plus about 15 minutes of live events.
	subscriberQueueLenMax = 2 * recentLenMax
)

// The replay (run, topology, components, checks, recent) must fit in a new
// subscriber's queue with room to spare.
var _ = [subscriberQueueLenMax - (2 + componentsMax + checksMax + recentLenMax)]struct{}{}

// Feed fans events out to browsers. Publish never blocks: each subscriber
// has a bounded queue, and one that falls behind (a slow or stuck browser)
// is dropped rather than waited for, so the simulator and the nodes never
// wait on a browser. Safe for concurrent use.
type Feed struct {
	mu          sync.Mutex
	closed      bool
	subscribers []*Subscription
	// What a late subscriber is sent first: the run and the topology,
	// recent events (component changes among them), and the latest state of
	// each component and each check.
	run        []byte
	topology   []byte
	components map[string][]byte
	checks     map[string][]byte
	recent     [][]byte // ring of recentLenMax; once full, the oldest is at recentNext
	recentNext int
	counters   FeedCounters
}

// FeedCounters count, since the feed began, what it did.
type FeedCounters struct {
	Published   uint64 `json:"published"`
	Subscribed  uint64 `json:"subscribed"`
	Dropped     uint64 `json:"dropped"` // subscribers cut off for falling behind
	Subscribers int    `json:"subscribers"`
}

// Subscription is one browser's queue of encoded events.
type Subscription struct {
	// Events yields each event as one line of JSON; it is closed when the
	// subscriber is dropped, unsubscribed or the feed is closed.
	Events <-chan []byte
	queue  chan []byte
	// Dropped reports, once Events is closed, whether it was for
	// falling behind.
	dropped bool
}

// NewFeed returns an empty feed.
func NewFeed() *Feed {
	return &Feed{components: map[string][]byte{}, checks: map[string][]byte{}, recent: make([][]byte, 0, recentLenMax)}
}

// envelope is an event on the wire.
type envelope struct {
	Kind Kind  `json:"kind"`
	Data Event `json:"data"`
}

// Encode is an event as browsers receive it: one line of JSON.
func Encode(event Event) []byte {
	line, err := json.Marshal(envelope{Kind: event.Kind(), Data: event})
	if err != nil {
		// Every event type is plain data: failing to encode one is a bug.
		panic(fmt.Sprintf("dashboard: encode %s event: %v", event.Kind(), err))
	}
	return line
}

// Publish sends event to every subscriber without waiting for any.
func (f *Feed) Publish(event Event) {
	line := Encode(event)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	f.counters.Published++
	f.keep(event, line)
	kept := f.subscribers[:0]
	for _, s := range f.subscribers {
		select {
		case s.queue <- line:
			kept = append(kept, s)
		default:
			s.dropped = true
			close(s.queue)
			f.counters.Dropped++
		}
	}
	clear(f.subscribers[len(kept):])
	f.subscribers = kept
}

// keep remembers what a late subscriber needs to see.
func (f *Feed) keep(event Event, line []byte) {
	switch e := event.(type) {
	case Run:
		if e.State == RunRunning {
			// A new run: the last run's picture no longer applies.
			f.topology = nil
			clear(f.components)
			clear(f.checks)
			f.recent = f.recent[:0]
			f.recentNext = 0
		}
		f.run = line
	case Topology:
		f.topology = line
	case Component:
		// A change is also an event: a browser that connects after a node
		// went down and came back must still see both in its event log.
		keepByName(f.components, e.Name, line, componentsMax)
		f.keepRecent(line)
	case Check:
		keepByName(f.checks, e.Name, line, checksMax)
	default:
		f.keepRecent(line)
	}
}

// keepRecent adds an event to the ring of recent ones.
func (f *Feed) keepRecent(line []byte) {
	if len(f.recent) < recentLenMax {
		f.recent = append(f.recent, line)
	} else {
		f.recent[f.recentNext] = line
	}
	f.recentNext = (f.recentNext + 1) % recentLenMax
}

// keepByName keeps the latest line per name; names beyond max are not
// remembered (they still reach the subscribers of the moment).
func keepByName(table map[string][]byte, name string, line []byte, max int) {
	if _, known := table[name]; known || len(table) < max {
		table[name] = line
	}
}

// Subscribe returns a queue that starts with what the feed kept (the run,
// the topology, recent events, each component's and each check's latest
// state) and then receives every published event. ok is false once the
// feed is closed.
func (f *Feed) Subscribe() (subscription *Subscription, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, false
	}
	queue := make(chan []byte, subscriberQueueLenMax)
	for _, line := range f.replay() {
		queue <- line
	}
	s := &Subscription{Events: queue, queue: queue}
	f.subscribers = append(f.subscribers, s)
	f.counters.Subscribed++
	return s, true
}

// replay is what the feed kept, in an order a browser can apply: what the
// run is and what exists, then what happened, oldest first (component
// changes among it, so the browser's log tells the story), then the latest
// state of each component and check (for a component whose changes the
// ring no longer holds, and the checks, which are states only).
func (f *Feed) replay() [][]byte {
	var lines [][]byte
	for _, line := range [][]byte{f.run, f.topology} {
		if line != nil {
			lines = append(lines, line)
		}
	}
	if len(f.recent) == recentLenMax {
		lines = append(lines, f.recent[f.recentNext:]...)
		lines = append(lines, f.recent[:f.recentNext]...)
	} else {
		lines = append(lines, f.recent...)
	}
	for _, table := range []map[string][]byte{f.components, f.checks} {
		names := make([]string, 0, len(table))
		for name := range table {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			lines = append(lines, table[name])
		}
	}
	return lines
}

// Unsubscribe ends a subscription (the browser went away).
func (f *Feed) Unsubscribe(s *Subscription) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i := slices.Index(f.subscribers, s); i >= 0 {
		f.subscribers = slices.Delete(f.subscribers, i, i+1)
		close(s.queue)
	}
}

// Dropped reports whether the subscription ended because its browser fell
// behind. Call it after Events is closed.
func (f *Feed) Dropped(s *Subscription) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return s.dropped
}

// Close ends every subscription and refuses new ones.
func (f *Feed) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	f.closed = true
	for _, s := range f.subscribers {
		close(s.queue)
	}
	f.subscribers = nil
}

// Counters returns the feed's counters.
func (f *Feed) Counters() FeedCounters {
	f.mu.Lock()
	defer f.mu.Unlock()
	counters := f.counters
	counters.Subscribers = len(f.subscribers)
	return counters
}
