package main

import (
	"io"
	"testing"
	"time"

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

// The long timers are settings a lab run can set low: they reach the
// server's config, and a zero or absurd value is refused.
func TestNodeTimerFlagsReachTheConfig(t *testing.T) {
	base := []string{"--id", "n1", "--auth", "off"}
	options, code, done := parseNodeFlags(append(base, "--pong-wait", "2s", "--write-timeout", "1500ms", "--drain-timeout", "3s"),
		io.Discard, io.Discard)
	if done {
		t.Fatalf("parse refused the flags (exit %d)", code)
	}
	if c := options.server; c.PongWait != 2*time.Second || c.WriteTimeout != 1500*time.Millisecond || c.DrainTimeout != 3*time.Second {
		t.Fatalf("pong wait %s, write timeout %s, drain timeout %s; want 2s, 1.5s, 3s", c.PongWait, c.WriteTimeout, c.DrainTimeout)
	}
	for _, bad := range [][]string{{"--pong-wait", "0s"}, {"--write-timeout", "-1s"}, {"--pong-wait", "11m"}} {
		if _, code, done := parseNodeFlags(append(base, bad...), io.Discard, io.Discard); !done || code != 2 {
			t.Errorf("%v: done %v, exit %d; want a usage error (2)", bad, done, code)
		}
	}
}

// --broker-lost-grace reaches the server (2 s by default; 0 means never,
// which the server takes as a negative grace), and a negative or absurd
// value is refused.
func TestNodeBrokerLostGraceFlag(t *testing.T) {
	base := []string{"--id", "n1", "--auth", "off"}
	for _, tc := range []struct {
		args []string
		want time.Duration
	}{{nil, 2 * time.Second}, {[]string{"--broker-lost-grace", "500ms"}, 500 * time.Millisecond}, {[]string{"--broker-lost-grace", "0s"}, -1}} {
		options, code, done := parseNodeFlags(append(base, tc.args...), io.Discard, io.Discard)
		if done || options.server.BrokerLostGrace != tc.want {
			t.Errorf("%v: grace %s (done %v, exit %d); want %s", tc.args, options.server.BrokerLostGrace, done, code, tc.want)
		}
	}
	for _, bad := range [][]string{{"--broker-lost-grace", "-1s"}, {"--broker-lost-grace", "11m"}} {
		if _, code, done := parseNodeFlags(append(base, bad...), io.Discard, io.Discard); !done || code != 2 {
			t.Errorf("%v: done %v, exit %d; want a usage error (2)", bad, done, code)
		}
	}
}

// --rooms-open defaults to off under auth and on without it, and takes an
// explicit on or off either way.
func TestNodeRoomsOpenFlag(t *testing.T) {
	t.Setenv(secretEnv, testSecret)
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"--auth", "on"}, false},
		{[]string{"--auth", "off"}, true},
		{[]string{"--auth", "on", "--rooms-open", "on"}, true},
		{[]string{"--auth", "off", "--rooms-open", "off"}, false},
	} {
		options, code, done := parseNodeFlags(append([]string{"--id", "n1"}, tc.args...), io.Discard, io.Discard)
		if done {
			t.Fatalf("%v: refused (exit %d)", tc.args, code)
		}
		if got := *options.server.RoomsOpen; got != tc.want {
			t.Errorf("%v: rooms open %v; want %v", tc.args, got, tc.want)
		}
	}
	if _, code, done := parseNodeFlags([]string{"--id", "n1", "--auth", "off", "--rooms-open", "yes"}, io.Discard, io.Discard); !done || code != 2 {
		t.Fatalf("--rooms-open yes: done %v, exit %d; want a usage error (2)", done, code)
	}
}

// --redis-cluster names the cluster's nodes; an address without a port is
// refused.
func TestNodeRedisClusterFlag(t *testing.T) {
	base := []string{"--id", "n1", "--auth", "off"}
	options, code, done := parseNodeFlags(append(base, "--redis-cluster", "127.0.0.1:7000,127.0.0.1:7001"), io.Discard, io.Discard)
	if done {
		t.Fatalf("parse refused the flag (exit %d)", code)
	}
	if len(options.redisCluster) != 2 || options.redisCluster[1] != "127.0.0.1:7001" {
		t.Fatalf("cluster nodes %v; want the two given", options.redisCluster)
	}
	if options, _, _ := parseNodeFlags(base, io.Discard, io.Discard); options.redisCluster != nil {
		t.Fatalf("cluster nodes %v without the flag; want one Redis", options.redisCluster)
	}
	if _, code, done := parseNodeFlags(append(base, "--redis-cluster", "127.0.0.1"), io.Discard, io.Discard); !done || code != 2 {
		t.Errorf("an address without a port: done %v, exit %d; want a usage error (2)", done, code)
	}
	options, _, done = parseNodeFlags(append(base, "--redis-cluster", "127.0.0.1:7000", "--redis-replicas-ack", "1"), io.Discard, io.Discard)
	if done || options.redisReplicasAck != 1 {
		t.Fatalf("--redis-replicas-ack 1: done %v, %d replicas", done, options.redisReplicasAck)
	}
	if _, code, done := parseNodeFlags(append(base, "--redis-replicas-ack", "1"), io.Discard, io.Discard); !done || code != 2 {
		t.Errorf("replica acks on one Redis: done %v, exit %d; want a usage error (2)", done, code)
	}
	options, _, done = parseNodeFlags(append(base, "--redis-cluster", "127.0.0.1:7000", "--redis-epoch-fence"), io.Discard, io.Discard)
	if done || !options.redisEpochFence {
		t.Fatalf("--redis-epoch-fence: done %v, fence %v", done, options.redisEpochFence)
	}
	if _, code, done := parseNodeFlags(append(base, "--redis-epoch-fence"), io.Discard, io.Discard); !done || code != 2 {
		t.Errorf("epoch fencing on one Redis: done %v, exit %d; want a usage error (2)", done, code)
	}
}

// The room poll and the broker link's buffer are settings a lab run can
// change: they reach the server's and the broker's config.
func TestNodeLinkFlagsReachTheConfig(t *testing.T) {
	base := []string{"--id", "n1", "--auth", "off"}
	options, code, done := parseNodeFlags(append(base, "--room-poll-interval", "45s", "--pubsub-buffer", "3"), io.Discard, io.Discard)
	if done {
		t.Fatalf("parse refused the flags (exit %d)", code)
	}
	if options.server.RoomPollInterval != 45*time.Second || options.pubSubBuffer != 3 {
		t.Fatalf("room poll %s, pub/sub buffer %d; want 45s and 3", options.server.RoomPollInterval, options.pubSubBuffer)
	}
	options, _, _ = parseNodeFlags(base, io.Discard, io.Discard)
	if options.server.RoomPollInterval != 2*time.Second || options.pubSubBuffer != 1024 {
		t.Fatalf("defaults: room poll %s, pub/sub buffer %d; want 2s and 1024", options.server.RoomPollInterval, options.pubSubBuffer)
	}
}
