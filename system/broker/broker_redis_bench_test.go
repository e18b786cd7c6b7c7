package broker

import (
	"context"
	"strconv"
	"testing"

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
