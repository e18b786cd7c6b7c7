package chaos

import (
	"context"
	"encoding/json"
	"io"
	"net/url"
	"strconv"
	"time"

	"chatlab/system/balance"
	"chatlab/system/proxy"
)

// decisionsReadWait bounds one GET /decisions of the balancer.
const decisionsReadWait = 2 * time.Second

// decisionReader follows a real balancer's decision log (GET /decisions)
// across its restarts, and rebases each decision onto the run's clock.
type decisionReader struct {
	startedAt time.Time // the run's time 0
	// processStartedAtMs identifies the balancer process being read; after
	// is the number of its last decision read.
	processStartedAtMs int64
	after              uint64
	decisions          []balance.Decision
	// missed counts decisions a process's log dropped before they were read.
	missed uint64
}

// read takes every new decision of the balancer whose operator endpoints
// are at addr (host:port). A balancer that is down fails the read: its
// decisions are read once it is back, or lost with its process.
func (d *decisionReader) read(ctx context.Context, addr string) error {
	endpoint := url.URL{Scheme: "http", Host: addr, Path: "/decisions"}
	ctx, cancel := context.WithTimeout(ctx, decisionsReadWait)
	defer cancel()
	for {
		query := url.Values{"after": {strconv.FormatUint(d.after, 10)}}
		endpoint.RawQuery = query.Encode()
		answer, err := getDecisions(ctx, endpoint.String())
		if err != nil {
			return err
		}
		if answer.StartedAtMs != d.processStartedAtMs {
			if d.processStartedAtMs != 0 || d.after != 0 {
				// A new process: its log starts again from its first decision.
				d.processStartedAtMs, d.after = answer.StartedAtMs, 0
				continue
			}
			d.processStartedAtMs = answer.StartedAtMs
		}
		d.missed += answer.Missed
		for _, decision := range answer.Decisions {
			decision.AtMs -= d.startedAt.UnixMilli()
			d.decisions = append(d.decisions, decision)
		}
		d.after = answer.Next
		return nil
	}
}

func getDecisions(ctx context.Context, address string) (proxy.Decisions, error) {
	var answer proxy.Decisions
	err := getAdmin(ctx, address, "", stateBytesMax, func(body io.Reader) error {
		return json.NewDecoder(body).Decode(&answer)
	})
	return answer, err
}
