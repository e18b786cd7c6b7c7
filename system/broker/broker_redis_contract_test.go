package broker

import (
	"context"
	"testing"
	"time"

	"chatlab/system/broker/redisscript"
	"chatlab/system/broker/storetest"
	"chatlab/system/node"
)

// contractBroker is the Redis adapter under the store contract.
type contractBroker struct {
	broker  *Redis
	backend backend
}

func (c contractBroker) Publish(t testing.TB, send storetest.Send) storetest.Published {
	reply, err := c.broker.Publish(context.Background(), node.PublishRequest{Room: send.Room, From: send.From,
		ID: send.ID, Body: send.Text(), EpochCandidate: send.EpochCandidate})
	if err != nil {
		t.Fatalf("publish %+v: %v", send, err)
	}
	return storetest.Published{Seq: reply.Seq, Epoch: reply.Epoch, Duplicate: reply.Duplicate, Conflict: reply.Conflict}
}

func (c contractBroker) Fetch(t testing.TB, fetch storetest.Fetch) storetest.Fetched {
	reply, err := c.broker.Fetch(context.Background(), node.FetchRequest{Room: fetch.Room, AfterSeq: fetch.After,
		Limit: fetch.Limit, EpochCandidate: fetch.EpochCandidate})
	if err != nil {
		t.Fatalf("fetch %+v: %v", fetch, err)
	}
	return storetest.FetchedOf(reply.Epoch, reply.Head, reply.First, reply.Messages)
}

func (c contractBroker) Flush(t testing.TB) { c.backend.loseData(t) }

func (c contractBroker) Advance(t testing.TB, d time.Duration) { c.backend.advance(t, d) }

// TestRedisMeetsTheStoreContract replays the store contract through the
// adapter on miniredis and on redis-server: the same table the simulator's
// Redis and the node tests' fake answer.
func TestRedisMeetsTheStoreContract(t *testing.T) {
	if storetest.Config.ProvisionalEpochTTL != redisscript.ProvisionalEpochTTLSeconds*time.Second {
		t.Fatalf("the contract's provisional epoch TTL %v is not the scripts' %d s",
			storetest.Config.ProvisionalEpochTTL, redisscript.ProvisionalEpochTTLSeconds)
	}
	onEveryBackend(t, func(t *testing.T, b backend) {
		storetest.Run(t, func(t *testing.T) storetest.Store {
			b.loseData(t) // a fresh store for each case
			cfg := testConfig(b.url)
			cfg.HistoryLenMax = storetest.Config.HistoryLenMax
			cfg.DedupeTTLSeconds = int(storetest.Config.DedupeTTL / time.Second)
			return contractBroker{broker: openBroker(t, cfg), backend: b}
		}, nil)
	})
}
