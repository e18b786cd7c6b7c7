package main

import (
	"io"
	"testing"

	"chatlab/system/broker/redisscript"
	"chatlab/system/node"
)

// The retention flags reach the node's ring and the broker's stream, and
// leaving them out keeps the defaults the lab's checks assume.
func TestNodeRetentionFlagsReachTheConfig(t *testing.T) {
	base := []string{"--id", "n1", "--auth", "off"}
	options, code, done := parseNodeFlags(append(base, "--recent-len-max", "64", "--history-len-max", "200"), io.Discard, io.Discard)
	if done {
		t.Fatalf("parse refused the flags (exit %d)", code)
	}
	if options.server.RecentLenMax != 64 || options.historyLenMax != 200 {
		t.Fatalf("ring %d, history %d; want 64 and 200", options.server.RecentLenMax, options.historyLenMax)
	}
	options, _, _ = parseNodeFlags(base, io.Discard, io.Discard)
	if options.server.RecentLenMax != node.RecentLenMaxDefault || options.historyLenMax != redisscript.HistoryLenMaxDefault {
		t.Fatalf("defaults: ring %d, history %d; want %d and %d", options.server.RecentLenMax, options.historyLenMax,
			node.RecentLenMaxDefault, redisscript.HistoryLenMaxDefault)
	}
}
