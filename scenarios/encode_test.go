package scenarios

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// Every shipped scenario, encoded, reads back as the same scenario.
func TestEncodeRoundTripsEveryScenario(t *testing.T) {
	for _, s := range All() {
		data := s.Encode("written back\nby the test")
		back, err := Parse("encoded.yaml", data)
		if err != nil {
			t.Fatalf("%s: encoded file refused: %v\n%s", s.Name, err, data)
		}
		back.File = s.File
		if !reflect.DeepEqual(back, s) {
			t.Errorf("%s: round trip changed the scenario:\n got %+v\nwant %+v\n%s", s.Name, back, s, data)
		}
		if !strings.HasPrefix(string(data), "# written back\n# by the test\n") {
			t.Errorf("%s: the comment does not head the file:\n%s", s.Name, data)
		}
	}
}

// Values the shipped files do not use round-trip too: odd rates and
// durations, named nodes, every fault key.
func TestEncodeRoundTripsOddValues(t *testing.T) {
	s, err := Parse("odd.yaml", []byte(`name: odd
description: odd values
topology: {nodes: [alpha, beta], policy: hash-user, delivery: pubsub, redis_persistence: aof, recent_len_max: 7,
  history_len_max: 9, pong_wait: 1500ms, drain_timeout: 2s, write_timeout: 250ms, pubsub_break_every: 100ms,
  room_poll_interval: 90s, pubsub_buffer: 5}
workload: {clients: 9, rooms: 2, send_rate: 0.3/s, message_bytes: 10, duration: 30s, join_leave: 7/min, reconnects: 1/h,
  send_burst: 4, listeners: 3}
faults:
  - {at: 1s, action: partition, target: alpha-redis, direction: from, duration: 1ms}
  - {at: 2s, action: delay, target: balancer-beta, latency: 3ms, jitter: 1ms, duration: 1s}
  - {at: 2s, action: loss, target: beta-redis, percent: 12.5, duration: 1s}
  - {at: 3s, action: redis-restart, persist: false, duration: 1s}
  - {at: 5s, action: flood, target: beta, clients: 2, send_rate: 20/s, duration: 1s}
  - {at: 6s, action: slow-consumer, clients: 2, duration: 3s}
  - {at: 7s, action: away, clients: 3, duration: 2s}
  - {at: 10s, action: pause, target: redis}
  - {at: 11s, action: resume, target: redis}
  - {at: 12s, action: join-flood, target: alpha, clients: 2, rate: 30/s, duration: 1s}
  - {at: 13s, action: upgrade-aborts, clients: 20, duration: 1s}
expect: {hold: [no-loss], break: [order], latency_p99_max: 1500ms, converge_within: 3s, recover_within: 2s,
  recovery_latency_max: 20ms, cutoff_within: 9s, delivery_lag_max: 750ms, harm_latency_max: 2s}
`))
	if err != nil {
		t.Fatal(err)
	}
	s.Workload.SendRatePerClient = Rate(1.0 / 3)
	s.Faults[0].At = 1234567 * time.Nanosecond
	data := s.Encode("")
	back, err := Parse("odd.yaml", data)
	if err != nil {
		t.Fatalf("encoded file refused: %v\n%s", err, data)
	}
	if !reflect.DeepEqual(back, s) {
		t.Errorf("round trip changed the scenario:\n got %+v\nwant %+v\n%s", back, s, data)
	}
}
