package loadgen

import (
	"sync"

	"chatlab/system/client"
)

// tally joins every client's events as they happen: sends with their
// deliveries (by message id) for the send-to-delivery latency, and the
// counts of the summary. Every client shares the Unix-millisecond clock,
// so a receiver's delivered AtMs minus the sender's sent AtMs is the
// latency across nodes.
type tally struct {
	mu sync.Mutex
	// sentAtMs holds each send's time until the run ends; deliveries of
	// ids not in it (another run's messages replayed) count as foreign.
	sentAtMs map[string]int64
	// receipts counts each acked id's distinct receivers, for the
	// missing-delivery check.
	receipts map[string]int
	ackedIn  map[string]string // id → room
	latency  Histogram
	counts   Counts
	record   Recorder
}

// Counts are the run's totals.
type Counts struct {
	Sent        uint64 `json:"sent"`
	Resent      uint64 `json:"resent"`
	Acked       uint64 `json:"acked"`
	SendsFailed uint64 `json:"sends_failed"`
	Delivered   uint64 `json:"delivered"`
	Duplicates  uint64 `json:"duplicates"`
	// Foreign counts deliveries of messages this run did not send.
	Foreign       uint64 `json:"foreign"`
	Resets        uint64 `json:"resets"`
	Errors        uint64 `json:"errors"`
	Disconnects   uint64 `json:"disconnects"`
	DialFailures  uint64 `json:"dial_failures"`
	FirstDelivery int64  `json:"-"`
	LastDelivery  int64  `json:"-"`
}

func newTally(record Recorder) *tally {
	return &tally{sentAtMs: map[string]int64{}, receipts: map[string]int{}, ackedIn: map[string]string{}, record: record}
}

// observe is the Recorder every client of a run reports to.
func (t *tally) observe(clientName string, event client.Event) {
	if t.record != nil {
		t.record(clientName, event)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch event.Kind {
	case client.KindSent:
		t.counts.Sent++
		t.sentAtMs[event.ID] = event.AtMs
	case client.KindResent:
		t.counts.Resent++
	case client.KindAcked:
		t.counts.Acked++
		t.ackedIn[event.ID] = event.Room
	case client.KindSendFailed:
		t.counts.SendsFailed++
	case client.KindDelivered:
		t.delivered(event)
	case client.KindReset:
		t.counts.Resets++
	case client.KindError:
		t.counts.Errors++
	case client.KindDisconnected:
		t.counts.Disconnects++
	case client.KindDialFailed:
		t.counts.DialFailures++
	}
}

func (t *tally) delivered(event client.Event) {
	if event.Duplicate {
		t.counts.Duplicates++
		return
	}
	sentAt, ours := t.sentAtMs[event.ID]
	if !ours {
		t.counts.Foreign++
		return
	}
	t.counts.Delivered++
	t.receipts[event.ID]++
	t.latency.Record(event.AtMs - sentAt)
	if t.counts.FirstDelivery == 0 {
		t.counts.FirstDelivery = event.AtMs
	}
	t.counts.LastDelivery = max(t.counts.LastDelivery, event.AtMs)
}

// missing counts deliveries owed and not made: every acked message should
// reach each member of its room (members never leave during a load run).
func (t *tally) missing(members map[string]int) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var missing uint64
	for id, room := range t.ackedIn {
		if owed := members[room] - t.receipts[id]; owed > 0 {
			missing += uint64(owed)
		}
	}
	return missing
}

// reset starts a new step: counts, latencies and receipts start over;
// a delivery of an earlier step's message then counts as foreign.
func (t *tally) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.sentAtMs)
	clear(t.receipts)
	clear(t.ackedIn)
	t.latency = Histogram{}
	t.counts = Counts{}
}

func (t *tally) snapshot() (Counts, Histogram) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.counts, t.latency.Clone()
}
