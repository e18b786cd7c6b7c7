package sim

import (
	"strconv"
	"testing"
	"time"

	"chatlab/system/broker/redisscript"
	"chatlab/system/node"
)

// BenchmarkRedisScripts runs the broker's publish script, and a fetch of
// the last 16 messages, on the simulator's Redis: the cost of running the
// production scripts instead of a hand-written model.
func BenchmarkRedisScripts(b *testing.B) {
	redis := NewRedis(func() time.Duration { return 0 })
	redis.publish = func(string, string) int { return 1 }
	sent := 0
	publish := func(b *testing.B) {
		sent++
		call, err := redisscript.Publish(node.PublishRequest{Room: "r", From: "u", ID: strconv.Itoa(sent), Body: "hello",
			EpochCandidate: "e"}, 1024, 600)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := redis.Eval(call.Source, call.Keys, call.Args); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("publish", func(b *testing.B) {
		for b.Loop() {
			publish(b)
		}
	})
	b.Run("fetch16", func(b *testing.B) {
		for sent < 16 {
			publish(b)
		}
		head, _ := redis.Head("r")
		call, err := redisscript.Fetch(node.FetchRequest{Room: "r", AfterSeq: head - 16, Limit: 256, EpochCandidate: "e"})
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := redis.Eval(call.Source, call.Keys, call.Args); err != nil {
				b.Fatal(err)
			}
		}
	})
}
