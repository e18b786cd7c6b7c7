package node

import (
	"testing"
	"time"

	"chatlab/system/broker/storetest"
)

// contractStore is the node tests' broker fake under the store contract.
type contractStore struct{ store *store }

func (c *contractStore) Publish(_ testing.TB, send storetest.Send) storetest.Published {
	reply, _ := c.store.publish(PublishRequest{Room: send.Room, From: send.From, ID: send.ID, Body: send.Text(),
		EpochCandidate: send.EpochCandidate})
	return storetest.Published{Seq: reply.Seq, Epoch: reply.Epoch, Duplicate: reply.Duplicate, Conflict: reply.Conflict}
}

func (c *contractStore) Fetch(_ testing.TB, fetch storetest.Fetch) storetest.Fetched {
	reply := c.store.fetch(FetchRequest{Room: fetch.Room, AfterSeq: fetch.After, Limit: fetch.Limit,
		EpochCandidate: fetch.EpochCandidate})
	return storetest.FetchedOf(reply.Epoch, reply.Head, reply.First, reply.Messages)
}

func (c *contractStore) Flush(testing.TB) { c.store = newStore() }

func (c *contractStore) Advance(testing.TB, time.Duration) {}

// TestStoreMeetsTheStoreContract holds the fake the node tests answer from
// to the contract the real Redis meets, except where it is simpler on
// purpose.
func TestStoreMeetsTheStoreContract(t *testing.T) {
	storetest.Run(t, func(*testing.T) storetest.Store { return &contractStore{store: newStore()} }, map[string]string{
		storetest.CaseTrimming: "it keeps every message; a test trims history by setting first, " +
			"to put the node in front of exactly the gap it wants",
		storetest.CaseDedupeTTL: "it has no clock: ids are remembered for the whole test, " +
			"which no node test outlives",
		storetest.CaseProvisional: "it has no clock: an epoch a fetch named lasts for the whole test",
	})
}
