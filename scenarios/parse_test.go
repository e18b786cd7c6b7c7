package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"chatlab/system/balance"
	"chatlab/system/broker/redisscript"
	"chatlab/system/node"
)

// valid is a small good scenario; the error cases edit one line of it.
// Line numbers matter: the tests expect errors at them.
const valid = `name: demo
description: A small scenario for tests.
topology:
  nodes: 3
  policy: least-conn
  delivery: recover
  redis_persistence: aof
workload:
  clients: 10
  rooms: 2
  send_rate: 1/s
  duration: 10s
faults:
  - at: 2s
    action: partition
    target: n1-redis
    duration: 3s
expect:
  hold: [no-loss, order]
`

func TestParseValid(t *testing.T) {
	s, err := Parse("demo.yaml", []byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "demo" || s.Description != "A small scenario for tests." || s.File != "demo.yaml" {
		t.Errorf("name, description, file = %q, %q, %q", s.Name, s.Description, s.File)
	}
	wantTopology := Topology{Nodes: []string{"n1", "n2", "n3"}, Policy: balance.LeastConnections, Delivery: node.Recover, RedisPersistence: PersistenceAOF}
	if !slices.Equal(s.Topology.Nodes, wantTopology.Nodes) || s.Topology.Policy != wantTopology.Policy ||
		s.Topology.Delivery != wantTopology.Delivery || s.Topology.RedisPersistence != wantTopology.RedisPersistence {
		t.Errorf("topology = %+v, want %+v", s.Topology, wantTopology)
	}
	wantWorkload := Workload{Clients: 10, Rooms: 2, SendRatePerClient: 1, MessageBytes: messageBytesDefault, Duration: 10 * time.Second, SendBurst: 1}
	if s.Workload != wantWorkload {
		t.Errorf("workload = %+v, want %+v", s.Workload, wantWorkload)
	}
	wantFault := Fault{At: 2 * time.Second, Action: Partition, Target: "n1-redis", Link: [2]string{"n1", "redis"}, Direction: Both, Duration: 3 * time.Second}
	if len(s.Faults) != 1 || s.Faults[0] != wantFault {
		t.Errorf("faults = %+v, want [%+v]", s.Faults, wantFault)
	}
	if s.Faults[0].End() != 5*time.Second {
		t.Errorf("end = %s, want 5s", s.Faults[0].End())
	}
	// integrity is held without being listed (Always).
	if !slices.Equal(s.Expect.Hold, []Property{NoLoss, Order, Integrity}) || len(s.Expect.Break) != 0 {
		t.Errorf("expect = %+v", s.Expect)
	}
}

// A scenario may list an Always property under break; it is then not held.
func TestAlwaysPropertiesYieldToBreak(t *testing.T) {
	data := `name: breaks-integrity
description: a node that serves the wrong bodies, caught
topology: {nodes: 2}
workload: {clients: 4, rooms: 1, send_rate: 1/s, duration: 5s}
expect: {hold: [no-loss], break: [integrity]}
`
	s, err := Parse("breaks-integrity.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Expect.Hold, []Property{NoLoss}) || !slices.Equal(s.Expect.Break, []Property{Integrity}) {
		t.Errorf("expect = %+v", s.Expect)
	}
}

func TestParseDefaultsAndValueForms(t *testing.T) {
	data := `name: forms
description: Every value form the format allows.
topology:
  nodes: [alpha, beta]
workload:
  clients: 4
  rooms: 1
  send_rate: 30/min
  message_bytes: 16
  duration: 1.5s
  join_leave: 0.5/s
  reconnects: 6/h
  send_burst: 3
  listeners: 2
faults:
  - at: 500ms
    action: redis-restart
  - at: 600ms
    action: delay
    target: redis-beta
    latency: 20ms
  - at: 700ms
    action: flood
    clients: 3
  - at: 800ms
    action: pause
    target: alpha
  - at: 900ms
    action: resume
    target: alpha
expect:
  break: [no-loss]
  latency_p99_max: 1.5s
  converge_within: 2s
`
	s, err := Parse("forms.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Topology.Nodes, []string{"alpha", "beta"}) || s.Topology.Policy != balance.LeastConnections ||
		s.Topology.Delivery != node.Recover || s.Topology.RedisPersistence != PersistenceNone ||
		s.Topology.RecentLenMax != node.RecentLenMaxDefault || s.Topology.HistoryLenMax != redisscript.HistoryLenMaxDefault {
		t.Errorf("topology = %+v", s.Topology)
	}
	w := s.Workload
	if w.SendRatePerClient != 0.5 || w.JoinLeave != 0.5 || w.Reconnects != Rate(6.0/3600) || w.Duration != 1500*time.Millisecond || w.MessageBytes != 16 ||
		w.SendBurst != 3 || w.Listeners != 2 {
		t.Errorf("workload = %+v", w)
	}
	restart, delay, flood := s.Faults[0], s.Faults[1], s.Faults[2]
	if restart.Target != RedisName || restart.Persist {
		t.Errorf("redis-restart = %+v: want target redis, persist from the topology (none)", restart)
	}
	if delay.Link != [2]string{"redis", "beta"} || delay.Latency != 20*time.Millisecond || delay.Direction != "" {
		t.Errorf("delay = %+v", delay)
	}
	if flood.Target != BalancerName || flood.Clients != 3 || flood.FloodSendRate != floodSendRateDefault {
		t.Errorf("flood = %+v", flood)
	}
	if s.Expect.LatencyP99MaxMs != 1500 || s.Expect.ConvergeWithin != 2*time.Second || !slices.Equal(s.Expect.Break, []Property{NoLoss}) {
		t.Errorf("expect = %+v", s.Expect)
	}
}

// Small retention settings reach the topology, so that a short run wraps
// the nodes' rings and trims the streams.
func TestParseRetention(t *testing.T) {
	data := strings.Replace(valid, "  redis_persistence: aof\n", "  redis_persistence: aof\n  recent_len_max: 32\n  history_len_max: 150\n", 1)
	s, err := Parse("demo.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if s.Topology.RecentLenMax != 32 || s.Topology.HistoryLenMax != 150 {
		t.Errorf("ring %d, history %d; want 32 and 150", s.Topology.RecentLenMax, s.Topology.HistoryLenMax)
	}
}

func TestParsePubSubBreaks(t *testing.T) {
	data := strings.Replace(valid, "  redis_persistence: aof\n", "  redis_persistence: aof\n  pubsub_break_every: 1.5s\n", 1)
	s, err := Parse("demo.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if s.Topology.PubSubBreakEvery != 1500*time.Millisecond {
		t.Errorf("pubsub_break_every %v; want 1.5s", s.Topology.PubSubBreakEvery)
	}
	if s, err = Parse("demo.yaml", []byte(valid)); err != nil || s.Topology.PubSubBreakEvery != 0 {
		t.Errorf("default pubsub_break_every %v (%v); want 0", s.Topology.PubSubBreakEvery, err)
	}
}

func TestParseLinkKnobs(t *testing.T) {
	data := strings.Replace(valid, "  redis_persistence: aof\n", "  redis_persistence: aof\n  room_poll_interval: 45s\n  pubsub_buffer: 3\n", 1)
	s, err := Parse("demo.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if s.Topology.RoomPollInterval != 45*time.Second || s.Topology.PubSubBuffer != 3 {
		t.Errorf("room poll %v, pub/sub buffer %d; want 45s and 3", s.Topology.RoomPollInterval, s.Topology.PubSubBuffer)
	}
	if s, err = Parse("demo.yaml", []byte(valid)); err != nil || s.Topology.RoomPollInterval != 0 || s.Topology.PubSubBuffer != 0 {
		t.Errorf("defaults: room poll %v, pub/sub buffer %d (%v); want 0 and 0 (each target's own)", s.Topology.RoomPollInterval,
			s.Topology.PubSubBuffer, err)
	}
}

func TestParsePubSubKill(t *testing.T) {
	data := strings.Replace(valid, "faults:\n", "faults:\n  - at: 1s\n    action: pubsub-kill\n", 1)
	s, err := Parse("demo.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if f := s.Faults[0]; f.Action != PubSubKill || f.Target != "redis" || f.Duration != 0 {
		t.Errorf("fault %+v; want pubsub-kill of redis, over at once", f)
	}
	data = strings.Replace(valid, "faults:\n", "faults:\n  - at: 1s\n    action: pubsub-kill\n    duration: 500ms\n", 1)
	if s, err = Parse("demo.yaml", []byte(data)); err != nil {
		t.Fatal(err)
	}
	if f := s.Faults[0]; f.Duration != 500*time.Millisecond || f.End() != 1500*time.Millisecond {
		t.Errorf("fault %+v; want pubsub-kill for 500ms", f)
	}
}

// A pubsub-drop names a node, or redis (or nothing) for every node, and
// the share of pushes lost; its windows do not overlap on a node.
func TestParsePubSubDrop(t *testing.T) {
	data := strings.Replace(valid, "faults:\n", "faults:\n  - at: 1s\n    action: pubsub-drop\n    percent: 12.5\n    duration: 500ms\n", 1)
	s, err := Parse("demo.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if f := s.Faults[0]; f.Action != PubSubDrop || f.Target != "redis" || f.Percent != 12.5 || f.End() != 1500*time.Millisecond {
		t.Errorf("fault %+v; want pubsub-drop of 12.5%% to every node (redis) for 500ms", f)
	}
	two := "faults:\n  - at: 1s\n    action: pubsub-drop\n    target: n1\n    percent: 20\n    duration: 3s\n" +
		"  - at: 2s\n    action: pubsub-drop\n    target: n2\n    percent: 5\n    duration: 3s\n"
	if s, err = Parse("demo.yaml", []byte(strings.Replace(valid, "faults:\n", two, 1))); err != nil {
		t.Fatalf("windows on two nodes: %v", err)
	}
	if f := s.Faults[1]; f.Target != "n2" || f.Percent != 5 {
		t.Errorf("second fault %+v; want 5%% to n2", f)
	}
	cases := []struct{ name, faults, message string }{
		{"no percent", "  - at: 1s\n    action: pubsub-drop\n    target: n1\n", "(pubsub-drop): missing 'percent'"},
		{"zero percent", "  - at: 1s\n    action: pubsub-drop\n    percent: 0\n", "percent must be more than 0"},
		{"over a hundred", "  - at: 1s\n    action: pubsub-drop\n    percent: 120\n", "percent: 120 is out of range"},
		{"a link", "  - at: 1s\n    action: pubsub-drop\n    target: n1-redis\n    percent: 5\n",
			"pubsub-drop cannot target 'n1-redis': it takes a node, or redis (or nothing) for every node"},
		{"the balancer", "  - at: 1s\n    action: pubsub-drop\n    target: balancer\n    percent: 5\n", "pubsub-drop cannot target 'balancer'"},
		{"a key of another action", "  - at: 1s\n    action: pubsub-drop\n    percent: 5\n    latency: 1s\n",
			"key 'latency' does not apply to pubsub-drop; it applies to delay"},
		{"overlap on a node", "  - at: 1s\n    action: pubsub-drop\n    target: n1\n    percent: 5\n    duration: 3s\n" +
			"  - at: 2s\n    action: pubsub-drop\n    target: n1\n    percent: 9\n",
			"pubsub-drop at 2s: pushes to n1 are dropped already since line 14; let that window end first"},
		{"every node over one", "  - at: 1s\n    action: pubsub-drop\n    target: n2\n    percent: 5\n" +
			"  - at: 2s\n    action: pubsub-drop\n    percent: 9\n    duration: 1s\n",
			"pubsub-drop at 2s: pushes to n2 are dropped already since line 14"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := strings.Replace(valid, "faults:\n", "faults:\n"+c.faults, 1)
			_, err := Parse("demo.yaml", []byte(data))
			if err == nil || !strings.Contains(err.Error(), c.message) {
				t.Fatalf("error %v; want one saying %q", err, c.message)
			}
		})
	}
}

// A failover names a room of the workload and its lag, on a Redis Cluster
// with replica acks or without; the file reads back as written.
func TestParseRedisFailover(t *testing.T) {
	data := strings.Replace(valid, "  redis_persistence: aof\n", "  redis_persistence: aof\n  redis: cluster\n  redis_replicas_ack: 1\n  redis_epoch_fence: true\n", 1)
	data = strings.Replace(data, "    action: partition\n    target: n1-redis\n", "    action: redis-failover\n    room: 2\n    lag: 1500ms\n", 1)
	s, err := Parse("demo.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	f := s.Faults[0]
	if s.Topology.Redis != RedisCluster || s.Topology.RedisReplicasAck != 1 || !s.Topology.RedisEpochFence || f.Action != RedisFailover || f.Room != 2 ||
		f.Lag != 1500*time.Millisecond || f.Duration != 3*time.Second {
		t.Fatalf("topology %+v, fault %+v", s.Topology, f)
	}
	back, err := Parse("back.yaml", s.Encode(""))
	if err != nil {
		t.Fatal(err)
	}
	back.File = s.File
	if !reflect.DeepEqual(back, s) {
		t.Fatalf("round trip changed the scenario:\n%s", s.Encode(""))
	}
	checkParseError(t, strings.Replace(data, "room: 2", "room: 3", 1), 19, "room 3, but the workload has only 2")
	if s, err = Parse("demo.yaml", []byte(valid)); err != nil || s.Topology.Redis != RedisSingle {
		t.Fatalf("default Redis %q (%v); want one Redis", s.Topology.Redis, err)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name     string
		old, new string // edit of valid: replace old by new
		line     int
		message  string
	}{
		{"unknown top-level key", "expect:\n", "expects:\n", 18, "unknown key 'expects' (did you mean 'expect'?); allowed: name, description"},
		{"typo in a key", "  clients: 10", "  clinets: 10", 9, "workload: unknown key 'clinets' (did you mean 'clients'?)"},
		{"unknown key with nothing close", "  rooms: 2", "  colour: 2", 10, "unknown key 'colour'; allowed: clients, rooms"},
		{"repeated key", "  rooms: 2", "  rooms: 2\n  rooms: 3", 11, "key 'rooms' repeats (first given at line 10)"},
		{"bad duration", "  duration: 10s", "  duration: 10 seconds", 12, "bad duration '10 seconds'; want a number with a unit"},
		{"duration without a unit", "at: 2s", "at: 2", 14, "bad duration '2'"},
		{"negative duration", "    duration: 3s", "    duration: -3s", 17, "-3s is out of range"},
		{"bad rate", "send_rate: 1/s", "send_rate: 1 per second", 11, "bad rate '1 per second'"},
		{"unknown node in a link", "target: n1-redis", "target: n4-redis", 16, "unknown node 'n4' in link 'n4-redis'; nodes are n1, n2, n3"},
		{"not a link", "target: n1-redis", "target: n1-n2", 16, "no link 'n1-n2'"},
		{"fault after the workload", "at: 2s", "at: 12s", 14, "at 12s is after the workload ends (duration 10s)"},
		{"window after the workload", "    duration: 3s", "    duration: 9s", 17, "its window ends at 11s (2s + 9s), after the workload ends"},
		{"action does not take the target", "target: n1-redis", "target: n1", 16, "partition cannot target 'n1': it takes a link"},
		{"key does not fit the action", "    duration: 3s\n", "    duration: 3s\n    persist: true\n", 18, "key 'persist' does not apply to partition; it applies to redis-restart"},
		{"typo in an action", "action: partition", "action: partiton", 15, "unknown value 'partiton' (did you mean 'partition'?)"},
		{"missing description", "description: A small scenario for tests.\n", "", 1, "missing 'description'"},
		{"empty description", "description: A small scenario for tests.", "description: ''", 2, "description: must not be empty"},
		{"missing fault target", "    target: n1-redis\n", "", 14, "missing 'target' (a link such as n1-redis"},
		{"unknown policy", "policy: least-conn", "policy: least-con", 5, "unknown value 'least-con' (did you mean 'least-conn'?)"},
		{"unknown property", "hold: [no-loss, order]", "hold: [no-loss, ordre]", 19, "unknown value 'ordre' (did you mean 'order'?)"},
		{"property held and broken", "hold: [no-loss, order]", "hold: [no-loss, order]\n  break: [order]", 20, "'order' is under both hold and break"},
		{"no expectation", "  hold: [no-loss, order]\n", "  latency_p99_max: 1s\n", 19, "list at least one property"},
		{"typo in a retention key", "  redis_persistence: aof", "  redis_persistence: aof\n  histroy_len_max: 100", 8, "topology: unknown key 'histroy_len_max' (did you mean 'history_len_max'?)"},
		{"empty ring", "  redis_persistence: aof", "  redis_persistence: aof\n  recent_len_max: 0", 8, "topology.recent_len_max: 0 is out of range; want 1 to 1048576"},
		{"history not a count", "  redis_persistence: aof", "  redis_persistence: aof\n  history_len_max: 1k", 8, "topology.history_len_max: '1k' is not a whole number"},
		{"pub/sub breaks too often", "  redis_persistence: aof", "  redis_persistence: aof\n  pubsub_break_every: 10ms", 8, "topology.pubsub_break_every: 10ms is too short; want 0s (never) or at least 100ms"},
		{"pub/sub breaks without a unit", "  redis_persistence: aof", "  redis_persistence: aof\n  pubsub_break_every: 2", 8, "topology.pubsub_break_every: bad duration '2'"},
		{"room poll too short", "  redis_persistence: aof", "  redis_persistence: aof\n  room_poll_interval: 10ms", 8, "topology.room_poll_interval: 10ms is too short; want at least 100ms"},
		{"empty pub/sub buffer", "  redis_persistence: aof", "  redis_persistence: aof\n  pubsub_buffer: 0", 8, "topology.pubsub_buffer: 0 is out of range; want 1 to 1048576"},
		{"pub/sub kill of a node", "    action: partition\n    target: n1-redis\n    duration: 3s\n", "    action: pubsub-kill\n    target: n1\n", 16, "pubsub-kill cannot target 'n1': it takes redis (or nothing)"},
		{"too many nodes", "nodes: 3", "nodes: 99", 4, "99 is out of range; want 1 to 16"},
		{"reserved node name", "nodes: 3", "nodes: [n1, redis]", 4, "'redis' is reserved"},
		{"node name with a dash", "nodes: 3", "nodes: [n1, n-2]", 4, "'n-2': want a lowercase letter"},
		{"not a number", "clients: 10", "clients: ten", 9, "'ten' is not a whole number"},
		{"typo in a workload knob", "  duration: 10s", "  duration: 10s\n  send_brust: 4", 13, "workload: unknown key 'send_brust' (did you mean 'send_burst'?)"},
		{"burst beyond the node's", "  duration: 10s", "  duration: 10s\n  send_burst: 50", 13, "workload.send_burst: 50 is out of range; want 1 to 20"},
		{"empty burst", "  duration: 10s", "  duration: 10s\n  send_burst: 0", 13, "workload.send_burst: 0 is out of range; want 1 to 20"},
		{"listeners not a count", "  duration: 10s", "  duration: 10s\n  listeners: some", 13, "workload.listeners: 'some' is not a whole number"},
		{"too many listeners", "  duration: 10s", "  duration: 10s\n  listeners: 9995", 13, "workload.listeners: 9995 is out of range; want 0 to 9990"},
		{"failover on one Redis", "    action: partition\n    target: n1-redis\n", "    action: redis-failover\n", 15, "(redis-failover) acts on a Redis Cluster: set topology.redis: cluster"},
		{"replica acks on one Redis", "  redis_persistence: aof", "  redis_persistence: aof\n  redis_replicas_ack: 1", 8, "topology.redis_replicas_ack: replicas are a Redis Cluster's"},
		{"unknown Redis shape", "  redis_persistence: aof", "  redis_persistence: aof\n  redis: sentinel", 8, "unknown value 'sentinel'"},
		{"bad YAML", "  rooms: 2\n", "  rooms: 2: 3\n", 10, "bad YAML: mapping values are not allowed in this context"},
		{"mapping expected", "workload:\n  clients: 10\n  rooms: 2\n  send_rate: 1/s\n  duration: 10s\n", "workload: 5\n", 8, "workload: want keys and values (a mapping), got '5'"},
		{"second document", "  hold: [no-loss, order]\n", "  hold: [no-loss, order]\n---\nname: other\n", 20, "a second YAML document"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(valid, c.old) {
				t.Fatalf("the template has no %q", c.old)
			}
			data := strings.Replace(valid, c.old, c.new, 1)
			checkParseError(t, data, c.line, c.message)
		})
	}
}

func TestParseTimelineErrors(t *testing.T) {
	header := "name: timeline\ndescription: Faults in a bad order.\nworkload: {clients: 4, rooms: 1, send_rate: 1/s, duration: 20s}\nexpect: {hold: [order]}\nfaults:\n"
	cases := []struct {
		name    string
		faults  string
		line    int
		message string
	}{
		{"out of order", "  - {at: 5s, action: kill, target: n1}\n  - {at: 4s, action: restart, target: n1}\n", 7, "fault 2 at 4s comes before the previous one at 5s"},
		{"resume without pause", "  - {at: 5s, action: resume, target: n2}\n", 6, "resume at 5s: n2 is not paused then"},
		{"resume after the window closed", "  - {at: 5s, action: pause, target: redis, duration: 2s}\n  - {at: 8s, action: resume, target: redis}\n", 7, "resume at 8s: redis is not paused then"},
		{"pause twice", "  - {at: 5s, action: pause, target: n1}\n  - {at: 6s, action: pause, target: n1}\n", 7, "n1 is already paused since line 6"},
		{"heal what is not cut", "  - {at: 5s, action: partition, target: n1-redis, duration: 1s}\n  - {at: 7s, action: heal, target: redis-n1}\n", 7, "heal at 7s: redis-n1 is not partitioned then"},
		{"heal all with nothing cut", "  - {at: 5s, action: heal}\n", 6, "nothing is partitioned then"},
		{"kill twice", "  - {at: 5s, action: kill, target: n3}\n  - {at: 6s, action: kill, target: n3}\n", 7, "n3 is already down since line 6"},
		{"away beyond the clients", "  - {at: 5s, action: away, clients: 9, duration: 2s}\n", 6, "fault 1 (away): 9 clients, but the workload has only 4"},
		{"away without a window", "  - {at: 5s, action: away, clients: 2}\n", 6, "fault 1 (away): missing 'duration'"},
		{"away with a target", "  - {at: 5s, action: away, target: n1, clients: 2, duration: 1s}\n", 6, "away cannot target 'n1': it takes nothing"},
		{"away twice at once", "  - {at: 5s, action: away, clients: 2, duration: 4s}\n  - {at: 6s, action: away, clients: 1, duration: 1s}\n", 7, "away at 6s: clients are away since line 6 until 9s"},
		{"typo of away", "  - {at: 5s, action: awya, clients: 2, duration: 1s}\n", 6, "unknown value 'awya' (did you mean 'away'?)"},
		{"slow consumers beyond the clients", "  - {at: 5s, action: slow-consumer, clients: 5}\n", 6, "5 clients, but the workload has only 4"},
		{"jitter above latency", "  - {at: 5s, action: delay, target: balancer-n1, latency: 10ms, jitter: 20ms}\n", 6, "jitter 20ms is more than the latency 10ms"},
		{"missing required key", "  - {at: 5s, action: loss, target: n1-redis}\n", 6, "fault 1 (loss): missing 'percent'"},
		{"unknown node", "  - {at: 5s, action: kill, target: n7}\n", 6, "unknown node 'n7' in target; nodes are n1, n2, n3"},
		{"typo of a node", "  - {at: 5s, action: pause, target: rediss}\n", 6, "(did you mean 'redis'?)"},
		{"typo of an abuse", "  - {at: 5s, action: join-flod, clients: 2}\n", 6, "unknown value 'join-flod' (did you mean 'join-flood'?)"},
		{"abuse without clients", "  - {at: 5s, action: conn-flood, rate: 10/s}\n", 6, "fault 1 (conn-flood): missing 'clients'"},
		{"abuse rate of zero", "  - {at: 5s, action: garbage, clients: 1, rate: 0/s}\n", 6, "fault 1 (garbage): rate must be more than 0"},
		{"abuse rate too high", "  - {at: 5s, action: join-flood, clients: 1, rate: 200000/s}\n", 6, "is more than 100000/s"},
		{"upgrade aborts at a node", "  - {at: 5s, action: upgrade-aborts, target: n1, clients: 10}\n", 6, "upgrade-aborts cannot target 'n1': it takes balancer (or nothing)"},
		{"send_rate on an abuse", "  - {at: 5s, action: join-flood, clients: 1, send_rate: 5/s}\n", 6, "key 'send_rate' does not apply to join-flood; it applies to flood"},
		{"rate on a flood", "  - {at: 5s, action: flood, clients: 1, rate: 5/s}\n", 6, "key 'rate' does not apply to flood; it applies to conn-flood, garbage, join-flood, upgrade-aborts"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkParseError(t, header+c.faults, c.line, c.message)
		})
	}
	good := header + "  - {at: 5s, action: partition, target: n1-redis, duration: 2s}\n  - {at: 7s, action: partition, target: redis-n1, direction: to}\n  - {at: 9s, action: heal}\n" +
		"  - {at: 10s, action: kill, target: n2, duration: 1s}\n  - {at: 12s, action: kill, target: n2}\n  - {at: 13s, action: restart, target: n2}\n" +
		"  - {at: 14s, action: away, clients: 3, duration: 2s}\n  - {at: 16s, action: away, clients: 4, duration: 3s}\n"
	if _, err := Parse("good.yaml", []byte(good)); err != nil {
		t.Errorf("a sound timeline is refused: %v", err)
	}
}

func TestAbusesTakeTheBalancerAndTheirRateDefaults(t *testing.T) {
	data := "name: abuse\ndescription: Abuses.\nworkload: {clients: 4, rooms: 1, send_rate: 1/s, duration: 20s}\nexpect: {hold: [order]}\nfaults:\n" +
		"  - {at: 1s, action: join-flood, clients: 2, duration: 2s}\n  - {at: 2s, action: garbage, target: n2, clients: 1, rate: 30/s}\n" +
		"  - {at: 3s, action: conn-flood, clients: 50}\n  - {at: 4s, action: upgrade-aborts, clients: 100, rate: 2/s, duration: 3s}\n"
	s, err := Parse("abuse.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []Fault{
		{At: time.Second, Action: JoinFlood, Target: BalancerName, Clients: 2, Rate: 2000, Duration: 2 * time.Second},
		{At: 2 * time.Second, Action: Garbage, Target: "n2", Clients: 1, Rate: 30},
		{At: 3 * time.Second, Action: ConnFlood, Target: BalancerName, Clients: 50, Rate: 1000},
		{At: 4 * time.Second, Action: UpgradeAborts, Target: BalancerName, Clients: 100, Rate: 2, Duration: 3 * time.Second},
	}
	if !slices.Equal(s.Faults, want) {
		t.Errorf("faults\n%+v\nwant\n%+v", s.Faults, want)
	}
	for _, f := range s.Faults {
		if !f.Action.Abuse() {
			t.Errorf("%s is not an abuse", f.Action)
		}
	}
	if Kill.Abuse() || Away.Abuse() || !Flood.Abuse() {
		t.Error("Abuse: only floods and the abuses are")
	}
}

func checkParseError(t *testing.T, data string, line int, message string) {
	t.Helper()
	_, err := Parse("bad.yaml", []byte(data))
	var parseError *ParseError
	if !errors.As(err, &parseError) {
		t.Fatalf("err = %v, want a *ParseError", err)
	}
	if parseError.File != "bad.yaml" || parseError.Line != line || !strings.Contains(parseError.Message, message) {
		t.Errorf("got %q\nwant bad.yaml:%d: ...%s...", err.Error(), line, message)
	}
	if prefix := "bad.yaml:"; !strings.HasPrefix(err.Error(), prefix) {
		t.Errorf("%q does not start with %q", err.Error(), prefix)
	}
}

func TestEditDistanceAndSuggestions(t *testing.T) {
	distances := []struct {
		a, b string
		want int
	}{
		{"clients", "clients", 0},
		{"clinets", "clients", 1},
		{"client", "clients", 1},
		{"cleints", "clients", 1},
		{"rooms", "roams", 1},
		{"", "abc", 3},
		{"duration", "direction", 3},
	}
	for _, d := range distances {
		if got := editDistance(d.a, d.b); got != d.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", d.a, d.b, got, d.want)
		}
	}
	keys := []string{"clients", "rooms", "send_rate", "duration"}
	suggestions := map[string]string{"clinets": "clients", "Clients": "clients", "sendrate": "send_rate", "room": "rooms", "xyz": "", "at": ""}
	for word, want := range suggestions {
		if got := closest(word, keys); got != want {
			t.Errorf("closest(%q) = %q, want %q", word, got, want)
		}
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "demo.yaml")
	if err := os.WriteFile(good, []byte(valid), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := LoadFile(good)
	if err != nil || s.File != good {
		t.Fatalf("LoadFile = %+v, %v", s, err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(valid, "clients: 10", "clinets: 10", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadFile(bad)
	if want := bad + ":9: workload: unknown key 'clinets' (did you mean 'clients'?)"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %v, want it to start with %q", err, want)
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}

// The long timers are scenario settings: set, they reach the topology;
// left out, they stay zero (each target's default); zero is refused.
func TestParseTimers(t *testing.T) {
	data := strings.Replace(valid, "  redis_persistence: aof\n", "  redis_persistence: aof\n  pong_wait: 2s\n  drain_timeout: 1500ms\n  write_timeout: 3s\n", 1)
	s, err := Parse("demo.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if tp := s.Topology; tp.PongWait != 2*time.Second || tp.DrainTimeout != 1500*time.Millisecond || tp.WriteTimeout != 3*time.Second {
		t.Errorf("timers %s %s %s; want 2s 1.5s 3s", tp.PongWait, tp.DrainTimeout, tp.WriteTimeout)
	}
	if s, err = Parse("demo.yaml", []byte(valid)); err != nil || s.Topology.PongWait != 0 || s.Topology.DrainTimeout != 0 {
		t.Errorf("no timers: %+v, %v; want zero", s.Topology, err)
	}
	for bad, want := range map[string]string{
		"  pong_wait: 0s":      "topology.pong_wait: want more than 0",
		"  drain_timeout: 3":   "topology.drain_timeout: bad duration '3'",
		"  write_timeout: 20m": "topology.write_timeout: 20m is out of range",
		"  pong_wiat: 2s":      "did you mean 'pong_wait'?",
	} {
		data := strings.Replace(valid, "  redis_persistence: aof\n", "  redis_persistence: aof\n"+bad+"\n", 1)
		if _, err := Parse("demo.yaml", []byte(data)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v; want one saying %q", bad, err, want)
		}
	}
}
