package broker

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"chatlab/system/node"
)

// benchBackends are the Redis servers benchmarks run against. miniredis runs
// Lua in-process (gopher-lua) and dominates its figures; redis-server's show
// the adapter's own cost.
var benchBackends = []struct {
	name  string
	start func(testing.TB) backend
}{
	{"miniredis", miniredisBackend},
	{"redis-server", redisServerBackend},
}

// BenchmarkPublish measures one publish round trip: the Lua script (recover)
// or a plain PUBLISH (pubsub), with one subscriber on the room so that the
// fanout is part of the cost.
func BenchmarkPublish(b *testing.B) {
	for _, server := range benchBackends {
		for _, delivery := range []node.Delivery{node.Recover, node.PubSub} {
			b.Run(server.name+"/"+string(delivery), func(b *testing.B) {
				benchmarkPublish(b, server.start(b), delivery)
			})
		}
	}
}

func benchmarkPublish(b *testing.B, server backend, delivery node.Delivery) {
	cfg := testConfig(server.url)
	cfg.Delivery = delivery
	broker := openBroker(b, cfg)
	subscriber := openBroker(b, cfg)
	subscribe(b, subscriber, "bench")
	go drain(subscriber)
	ctx := context.Background()
	req := node.PublishRequest{Room: "bench", From: "ann", Body: "a short chat message", TS: 1700000000123,
		EpochCandidate: "e1"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		req.ID = strconv.Itoa(i)
		if _, err := broker.Publish(ctx, req); err != nil {
			b.Fatalf("publish: %v", err)
		}
	}
}

// BenchmarkFetch measures a fetch of 100 messages from a history of 1000.
func BenchmarkFetch(b *testing.B) {
	for _, server := range benchBackends {
		b.Run(server.name, func(b *testing.B) {
			benchmarkFetch(b, server.start(b))
		})
	}
}

func benchmarkFetch(b *testing.B, server backend) {
	broker := openBroker(b, testConfig(server.url))
	const historyLen = 1000
	for i := range historyLen {
		publish(b, broker, "bench", "ann", strconv.Itoa(i), "e1")
	}
	ctx := context.Background()
	req := node.FetchRequest{Room: "bench", AfterSeq: historyLen / 2, Limit: 100, EpochCandidate: "e1"}
	b.ReportAllocs()
	for b.Loop() {
		reply, err := broker.Fetch(ctx, req)
		if err != nil || len(reply.Messages) != req.Limit {
			b.Fatalf("fetch: %d messages, %v", len(reply.Messages), err)
		}
	}
}

// drain reads events until the broker is closed, as a node's loop would.
func drain(broker *Redis) {
	for range broker.Events() {
	}
}

// BenchmarkClusterPublish measures a publish on a real Redis Cluster (3
// masters, a replica each, one subscriber), with and without replica acks
// (--redis-replicas-ack): the price of a WAIT for the replica on every
// send. It reports each publish's p50 and p99 in microseconds.
func BenchmarkClusterPublish(b *testing.B) {
	cluster, _ := clusterBackend(b)
	for _, replicasAck := range []int{0, 1} {
		b.Run("replicas-ack-"+strconv.Itoa(replicasAck), func(b *testing.B) {
			cfg := testConfig("")
			cfg.ReplicasAck = replicasAck
			broker := openClusterBroker(b, cluster, cfg)
			subscriber := openClusterBroker(b, cluster, testConfig(""))
			room := "bench-" + strconv.Itoa(replicasAck)
			subscribe(b, subscriber, room)
			go drain(subscriber)
			ctx := context.Background()
			req := node.PublishRequest{Room: room, From: "ann", Body: "a short chat message", TS: 1700000000123,
				EpochCandidate: "e1"}
			latencies := hdrhistogram.New(1, int64(10*time.Second/time.Microsecond), 3)
			for i := 0; b.Loop(); i++ {
				req.ID = strconv.Itoa(i)
				started := time.Now()
				if _, err := broker.Publish(ctx, req); err != nil {
					b.Fatalf("publish: %v", err)
				}
				_ = latencies.RecordValue(time.Since(started).Microseconds())
			}
			b.ReportMetric(float64(latencies.ValueAtQuantile(50)), "p50-µs")
			b.ReportMetric(float64(latencies.ValueAtQuantile(99)), "p99-µs")
		})
	}
}
