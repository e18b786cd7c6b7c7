package proxy

import (
	"encoding/json"
	"net/http"
	"strconv"

	"chatlab/system/balance"
)

// decisionLogLenMax bounds the balancer decisions kept for /decisions. A
// reader polling every second (the lab) reads them all at any realistic
// rate of new connections; an older one is told how many it missed.
const decisionLogLenMax = 1 << 16

// decisionLog is the balancer's decision log for /decisions, numbered from
// 1 since the process started. Proxy.mu guards it.
type decisionLog struct {
	entries []balance.Decision
	// first is the number of entries[0].
	first uint64
}

func (l *decisionLog) append(decisions []balance.Decision) {
	if len(l.entries) == 0 {
		l.first = 1
	}
	l.entries = append(l.entries, decisions...)
	// Dropping the older half at once keeps appends cheap.
	if len(l.entries) > decisionLogLenMax {
		excess := len(l.entries) - decisionLogLenMax/2
		l.entries = append(l.entries[:0:0], l.entries[excess:]...)
		l.first += uint64(excess)
	}
}

// Decisions is /decisions's JSON.
type Decisions struct {
	// StartedAtMs is when this balancer process started (Unix ms): a
	// reader that sees it change knows the log began again.
	StartedAtMs int64 `json:"started_at_ms"`
	// Next is the number to ask for with ?after= next time.
	Next uint64 `json:"next"`
	// Missed counts decisions after the asked number that the log no
	// longer holds.
	Missed uint64 `json:"missed"`
	// Decisions are in the order taken, stamped in Unix milliseconds.
	Decisions []balance.Decision `json:"decisions"`
}

// DecisionsAfter returns the decisions numbered after the given number.
func (p *Proxy) DecisionsAfter(after uint64) Decisions {
	startedAtMs := p.startedAt.UnixMilli()
	p.mu.Lock()
	defer p.mu.Unlock()
	log := &p.decisions
	answer := Decisions{StartedAtMs: startedAtMs, Next: after, Decisions: []balance.Decision{}}
	if len(log.entries) == 0 {
		return answer
	}
	last := log.first + uint64(len(log.entries)) - 1
	answer.Next = max(after, last)
	from := after + 1
	if from < log.first {
		answer.Missed, from = log.first-from, log.first
	}
	for number := from; number <= last; number++ {
		d := log.entries[number-log.first]
		d.AtMs += startedAtMs // the balancer's clock runs from the process's start
		answer.Decisions = append(answer.Decisions, d)
	}
	return answer
}

// serveDecisions answers GET /decisions?after=N.
func (p *Proxy) serveDecisions(w http.ResponseWriter, r *http.Request) {
	var after uint64
	if text := r.URL.Query().Get("after"); text != "" {
		var err error
		if after, err = strconv.ParseUint(text, 10, 64); err != nil {
			http.Error(w, "after: want the number of the last decision read", http.StatusBadRequest)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(p.DecisionsAfter(after))
}
