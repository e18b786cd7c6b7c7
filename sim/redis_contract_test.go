package sim

import (
	"testing"
	"time"

	"chatlab/system/broker/redisscript"
	"chatlab/system/broker/storetest"
	"chatlab/system/node"
)

// contractRedis is the simulator's Redis under the store contract: the
// broker's scripts run in it as the Redis adapter runs them on a server.
type contractRedis struct{ *scriptRedis }

func (c contractRedis) Publish(t testing.TB, send storetest.Send) storetest.Published {
	reply := c.publish(node.PublishRequest{Room: send.Room, From: send.From, ID: send.ID, Body: send.Text(),
		EpochCandidate: send.EpochCandidate}, storetest.Config.HistoryLenMax, int(storetest.Config.DedupeTTL/time.Second))
	return storetest.Published{Seq: reply.Seq, Epoch: reply.Epoch, Duplicate: reply.Duplicate, Conflict: reply.Conflict}
}

func (c contractRedis) Fetch(t testing.TB, fetch storetest.Fetch) storetest.Fetched {
	reply := c.fetch(node.FetchRequest{Room: fetch.Room, AfterSeq: fetch.After, Limit: fetch.Limit,
		EpochCandidate: fetch.EpochCandidate})
	return storetest.FetchedOf(reply.Epoch, reply.Head, reply.First, reply.Messages)
}

func (c contractRedis) Flush(testing.TB) { c.redis.Flush() }

func (c contractRedis) Advance(_ testing.TB, d time.Duration) { c.now += d }

func TestRedisMeetsTheStoreContract(t *testing.T) {
	if storetest.Config.ProvisionalEpochTTL != redisscript.ProvisionalEpochTTLSeconds*time.Second {
		t.Fatalf("the contract's provisional epoch TTL %v is not the scripts' %d s",
			storetest.Config.ProvisionalEpochTTL, redisscript.ProvisionalEpochTTLSeconds)
	}
	storetest.Run(t, func(t *testing.T) storetest.Store { return contractRedis{newScriptRedis(t)} }, nil)
}
