package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"chatlab/system/client"
	"chatlab/system/node"
)

// A run across two nodes: every acked message reaches every member of its
// room once, and every delivery has a latency.
func TestRunDeliversEveryAckedMessageToEveryMember(t *testing.T) {
	redis := miniredis.RunT(t)
	url := "redis://" + redis.Addr()
	a := startNode(t, "a", url, node.Recover)
	b := startNode(t, "b", url, node.Recover)
	rec := newRecorder()
	summary, err := Run(context.Background(), Config{URLs: []string{a.url(), b.url()}, Clients: 12, Rooms: 3,
		SendRatePerClient: 10, MessageBytes: 32, Duration: time.Second, Seed: 1, Record: rec.record})
	if err != nil {
		t.Fatal(err)
	}
	if !summary.Settled {
		t.Fatalf("run did not settle: %+v", summary)
	}
	c := summary.Counts
	if c.Sent == 0 || c.Acked != c.Sent || c.SendsFailed != 0 {
		t.Fatalf("sent %d acked %d failed %d", c.Sent, c.Acked, c.SendsFailed)
	}
	// 12 clients in 3 rooms: each message has 4 members, the sender included.
	if c.Delivered != 4*c.Acked || summary.Missing != 0 {
		t.Fatalf("delivered %d for %d acked (want 4 each), missing %d", c.Delivered, c.Acked, summary.Missing)
	}
	if summary.Latency.Count != c.Delivered || summary.Latency.P50 > summary.Latency.P99 || summary.Latency.P99 > summary.Latency.Max {
		t.Fatalf("latency %+v for %d deliveries", summary.Latency, c.Delivered)
	}
	if summary.DeliveriesPerSecond <= 0 || summary.Connected != 12 {
		t.Fatalf("deliveries/s %g, connected %d", summary.DeliveriesPerSecond, summary.Connected)
	}
	// The recorder saw the same history the tally counted.
	delivered := 0
	for name := range rec.events {
		ids, _ := rec.delivered(name)
		delivered += len(ids)
	}
	if uint64(delivered) != c.Delivered {
		t.Fatalf("recorder saw %d deliveries, tally %d", delivered, c.Delivered)
	}
	var table bytes.Buffer
	if err := summary.WriteTable(&table); err != nil || !strings.Contains(table.String(), "deliveries/s") ||
		!strings.Contains(table.String(), "99.990%") {
		t.Fatalf("table: %v\n%s", err, table.String())
	}
	if d := summary.Latency.Distribution; len(d) != len(distributionPercentiles) || d[0].Ms != summary.Latency.P50 ||
		d[len(d)-1].Ms != summary.Latency.Max {
		t.Fatalf("distribution %+v; p50 %d, max %d", d, summary.Latency.P50, summary.Latency.Max)
	}
	encoded, err := json.Marshal(summary)
	if err != nil || !bytes.Contains(encoded, []byte(`"p99"`)) {
		t.Fatalf("json: %v %s", err, encoded)
	}
	t.Logf("\n%s", table.String())
}

// Steps on one set of connections: each step's summary counts its own
// sends and deliveries only, every acked message of it reaching every member.
func TestRunStepsSummarizesEachStep(t *testing.T) {
	redis := miniredis.RunT(t)
	url := "redis://" + redis.Addr()
	a := startNode(t, "a", url, node.Recover)
	b := startNode(t, "b", url, node.Recover)
	summaries, err := RunSteps(context.Background(), Config{URLs: []string{a.url(), b.url()}, Clients: 8, Rooms: 2,
		Senders: 2, StepRates: []float64{4, 8}, MessageBytes: 16, Duration: 500 * time.Millisecond, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(summaries) != 2 {
		t.Fatalf("%d summaries for 2 steps", len(summaries))
	}
	for i, summary := range summaries {
		c := summary.Counts
		if !summary.Settled || c.Sent == 0 || c.Acked != c.Sent || c.Foreign != 0 {
			t.Fatalf("step %d: settled %v sent %d acked %d foreign %d", i, summary.Settled, c.Sent, c.Acked, c.Foreign)
		}
		// 8 clients in 2 rooms: 4 members each.
		if c.Delivered != 4*c.Acked || summary.Missing != 0 || summary.Latency.Count != c.Delivered {
			t.Fatalf("step %d: delivered %d for %d acked, missing %d, latencies %d", i, c.Delivered, c.Acked, summary.Missing, summary.Latency.Count)
		}
	}
	if summaries[0].Rate != 4 || summaries[1].Rate != 8 || summaries[1].Counts.Sent <= summaries[0].Counts.Sent {
		t.Fatalf("rates %g, %g; sent %d then %d", summaries[0].Rate, summaries[1].Rate, summaries[0].Counts.Sent, summaries[1].Counts.Sent)
	}
}

// Idle clients connect, join and hold; nothing is sent.
func TestRunIdleHoldsConnections(t *testing.T) {
	redis := miniredis.RunT(t)
	n := startNode(t, "a", "redis://"+redis.Addr(), node.Recover)
	joinedCalls := 0
	summary, err := Run(context.Background(), Config{URLs: []string{n.url()}, Clients: 40, Rooms: 4, Idle: true,
		SendRatePerClient: 5, Duration: 200 * time.Millisecond, OnJoined: func() { joinedCalls++ }})
	if err != nil {
		t.Fatal(err)
	}
	if summary.Connected != 40 || summary.Counts.Sent != 0 || summary.Senders != 0 || joinedCalls != 1 {
		t.Fatalf("idle run: connected %d, sent %d, senders %d, OnJoined %d", summary.Connected, summary.Counts.Sent, summary.Senders, joinedCalls)
	}
}

// A node that is gone makes the run fail to start, with a message.
func TestRunReportsClientsThatNeverJoin(t *testing.T) {
	_, err := Run(context.Background(), Config{URLs: []string{"ws://127.0.0.1:1/ws"}, Clients: 2, Duration: time.Second,
		JoinWait: 300 * time.Millisecond, Machine: client.Config{BackoffMaxMs: 100}})
	if err == nil || !strings.Contains(err.Error(), "0 of 2 clients joined") {
		t.Fatalf("err %v, want a join failure", err)
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	good := Config{URLs: []string{"ws://x/ws"}, Clients: 1, Duration: time.Second}
	for _, tc := range []struct {
		change func(*Config)
		want   string
	}{
		{func(c *Config) { c.URLs = nil }, "no URL"},
		{func(c *Config) { c.Clients = 0 }, "clients 0"},
		{func(c *Config) { c.Rooms = roomsMax + 1 }, "rooms"},
		{func(c *Config) { c.Senders = 2 }, "senders 2"},
		{func(c *Config) { c.SendRatePerClient = -1 }, "send rate"},
		{func(c *Config) { c.MessageBytes = 1 << 30 }, "message size"},
		{func(c *Config) { c.Duration = 0 }, "duration"},
		{func(c *Config) { c.StepRates = []float64{1, -2} }, "step rate -2"},
		{func(c *Config) { c.StepRates = []float64{1} }, "use RunSteps"},
	} {
		cfg := good
		tc.change(&cfg)
		if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err %v, want one naming %q", err, tc.want)
		}
	}
}
