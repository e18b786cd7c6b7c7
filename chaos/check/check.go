package check

import (
	"time"

	"github.com/anishathalye/porcupine"
)

// Check names, in the order CheckHistory runs them (report.json checks[]).
const (
	CheckNoLoss       = "no-loss"
	CheckNoDuplicates = "no-duplicates"
	CheckOrder        = "order"
	CheckResume       = "resume"
	CheckLinearizable = "linearizable"
	CheckLatency      = "latency"
	// CheckClientDedupe: every frame a client discarded as a duplicate was
	// one it had passed to the application already (or was never owed).
	CheckClientDedupe = "client-dedupe"
	// CheckAcks: every acked send reached every member, as the acked seq.
	CheckAcks = "acks"
	// CheckResets: every reset is explained by lost or trimmed history.
	CheckResets = "resets"
	// CheckWelcome: every connection is welcomed before anything else.
	CheckWelcome = "welcome"
	// CheckIntegrity: every message received is the one its id's sender
	// sent (room, body, sender).
	CheckIntegrity = "integrity"
)

// Delivery modes a history can come from (node.Delivery's values).
const (
	DeliveryRecover = "recover"
	DeliveryPubSub  = "pubsub"
)

// violationExamplesMax bounds the violations a check spells out; its
// Violations count covers them all.
const violationExamplesMax = 20

// linearizabilityTimeoutDefault bounds porcupine's search when the options
// give no timeout: linearizability checking is NP-hard, a run's verdict is not.
const linearizabilityTimeoutDefault = 10 * time.Second

// Check is one checker's verdict on a run.
type Check struct {
	Name       string      `json:"name"`
	OK         bool        `json:"ok"`
	Violations int         `json:"violations"`
	Detail     string      `json:"detail"`
	Examples   []Violation `json:"examples,omitempty"`
}

// Violation names the operations involved in one breach of a property.
type Violation struct {
	Kind    string `json:"kind"`
	Client  string `json:"client,omitempty"`
	Room    string `json:"room,omitempty"`
	Epoch   string `json:"epoch,omitempty"`
	Seq     uint64 `json:"seq,omitempty"`
	ID      string `json:"id,omitempty"`
	AtMs    int64  `json:"at_ms"`
	Message string `json:"message"`
}

// Stats sums up a run's deliveries (report.json stats).
type Stats struct {
	Sent       int `json:"sent"`
	Acked      int `json:"acked"`
	Delivered  int `json:"delivered"`
	Lost       int `json:"lost"`
	Duplicated int `json:"duplicated"`
	Reordered  int `json:"reordered"`
	// Excused counts expected deliveries that a reset declared gone: history
	// that was lost and said so, never counted as silent loss.
	Excused   int          `json:"excused"`
	LatencyMs LatencyStats `json:"latency_ms"`
}

// LatencyStats are delivery latencies in milliseconds: a receiver's
// delivered time minus the sender's first sent time.
type LatencyStats struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// CheckOptions tune CheckHistory.
type CheckOptions struct {
	// Delivery is the mode the run used: DeliveryRecover, DeliveryPubSub, or
	// empty to tell from the history (pubsub when no ack or delivery has a seq).
	Delivery string
	// LatencyP99MaxMs fails the latency check when p99 exceeds it; 0 sets
	// no bound.
	LatencyP99MaxMs float64
	// LatencyExcludedSenders are client name prefixes whose messages the
	// latency figures leave out (flooding clients).
	LatencyExcludedSenders []string
	// LinearizabilityTimeout bounds porcupine's search (default 10 s); a
	// search cut short is reported as unknown, not as a failure.
	LinearizabilityTimeout time.Duration
	// HistoryLenMax is how many messages each room's Redis stream retained
	// in the run (the target's setting): a reset that skips only seqs
	// older than that many below the room's head is justified. 0 means
	// unknown: no reset is justified by retention.
	HistoryLenMax int
}

// CheckHistory runs every checker on a run's history, in a fixed order:
// no-loss, no-duplicates, order, resume, linearizable, latency,
// client-dedupe, acks, resets, welcome. The history
// must end after the run went quiet: a message still in flight at the end
// counts as lost.
func CheckHistory(h History, opts CheckOptions) ([]Check, Stats) {
	checks, stats, _ := CheckHistoryLinearized(h, opts)
	return checks, stats
}

// CheckHistoryLinearized is CheckHistory that also returns porcupine's search (nil
// in pubsub mode), so that a report draws it without searching again.
func CheckHistoryLinearized(h History, opts CheckOptions) ([]Check, Stats, *porcupine.LinearizationInfo) {
	ix := indexHistory(h, opts.Delivery)
	loss, lost, excused := checkNoLoss(ix)
	duplicates, duplicated := checkNoDuplicates(ix)
	order, reordered := checkOrder(ix)
	resume := checkResume(ix)
	linearizable, linearization := checkLinearizable(ix, opts.LinearizabilityTimeout)
	latencyCheck, latency := checkLatency(ix, opts.LatencyP99MaxMs, opts.LatencyExcludedSenders)
	stats := Stats{
		Sent:       ix.sentCount,
		Acked:      ix.ackedCount,
		Delivered:  ix.deliveryCount - duplicated,
		Lost:       lost,
		Duplicated: duplicated,
		Reordered:  reordered,
		Excused:    excused,
		LatencyMs:  latency,
	}
	checks := []Check{loss, duplicates, order, resume, linearizable, latencyCheck,
		checkClientDedupe(ix), checkAcks(ix), checkResets(ix, opts.HistoryLenMax), checkWelcome(ix, h), checkIntegrity(h)}
	return checks, stats, linearization
}

// verdict collects one check's violations, keeping the first few as
// examples.
type verdict struct {
	check Check
}

func newVerdict(name string) *verdict {
	return &verdict{check: Check{Name: name}}
}

func (v *verdict) add(violation Violation) {
	v.check.Violations++
	if len(v.check.Examples) < violationExamplesMax {
		v.check.Examples = append(v.check.Examples, violation)
	}
}

func (v *verdict) done(detail string) Check {
	v.check.OK = v.check.Violations == 0
	v.check.Detail = detail
	return v.check
}
