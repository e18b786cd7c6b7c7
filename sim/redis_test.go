package sim

import (
	"testing"

	"chatlab/system/node"
)

func TestRedisPublishDedupesAndKeepsEpoch(t *testing.T) {
	r := NewRedis(node.Recover, 3, 0)
	reply, msg := r.Publish(node.PublishRequest{Room: "a", ID: "x-1", From: "u", Body: "b", EpochCandidate: "e1"})
	if reply.Seq != 1 || reply.Epoch != "e1" || reply.Duplicate || msg == nil || msg.Seq != 1 {
		t.Fatalf("first publish: %+v %+v", reply, msg)
	}
	reply, msg = r.Publish(node.PublishRequest{Room: "a", ID: "x-1", From: "u", Body: "b", EpochCandidate: "e2"})
	if reply.Seq != 1 || reply.Epoch != "e1" || !reply.Duplicate || msg != nil {
		t.Fatalf("repeated id: %+v %+v; want the original seq, no publish", reply, msg)
	}
	reply, _ = r.Publish(node.PublishRequest{Room: "a", ID: "x-1", From: "other", Body: "b", EpochCandidate: "e2"})
	if reply.Seq != 2 || reply.Duplicate {
		t.Fatalf("same id from another user: %+v; want a new seq", reply)
	}
}

func TestRedisStreamIsBoundedAndFetchFollowsTheContract(t *testing.T) {
	r := NewRedis(node.Recover, 3, 0)
	for _, id := range []string{"1", "2", "3", "4", "5"} {
		r.Publish(node.PublishRequest{Room: "a", ID: id, From: "u", Body: "b", EpochCandidate: "e"})
	}
	reply := r.Fetch(node.FetchRequest{Room: "a", AfterSeq: 0, Limit: 10})
	if reply.Head != 5 || reply.First != 3 || len(reply.Messages) != 3 || reply.Messages[0].Seq != 3 {
		t.Fatalf("fetch after 0: head %d first %d %d messages", reply.Head, reply.First, len(reply.Messages))
	}
	reply = r.Fetch(node.FetchRequest{Room: "a", AfterSeq: 3, Limit: 1})
	if len(reply.Messages) != 1 || reply.Messages[0].Seq != 4 {
		t.Fatalf("fetch after 3 limit 1: %+v", reply.Messages)
	}
	empty := r.Fetch(node.FetchRequest{Room: "b", EpochCandidate: "eb"})
	if empty.Head != 0 || empty.First != 1 || empty.Epoch != "eb" || len(empty.Messages) != 0 {
		t.Fatalf("fetch of an empty room: %+v", empty)
	}
}

func TestRedisFlushLosesDataAndTheEpochChanges(t *testing.T) {
	r := NewRedis(node.Recover, 0, 0)
	r.Publish(node.PublishRequest{Room: "a", ID: "1", From: "u", Body: "b", EpochCandidate: "old"})
	r.Flush()
	reply, _ := r.Publish(node.PublishRequest{Room: "a", ID: "1", From: "u", Body: "b", EpochCandidate: "new"})
	if reply.Seq != 1 || reply.Epoch != "new" || reply.Duplicate {
		t.Fatalf("after a flush: %+v; want seq 1 in a new epoch", reply)
	}
}

func TestRedisPubSubModeOnlyPublishes(t *testing.T) {
	r := NewRedis(node.PubSub, 0, 0)
	reply, msg := r.Publish(node.PublishRequest{Room: "a", ID: "1", From: "u", Body: "b"})
	if reply.Seq != 0 || msg == nil || msg.Seq != 0 {
		t.Fatalf("pubsub publish: %+v %+v", reply, msg)
	}
	if head, _ := r.Head("a"); head != 0 {
		t.Fatalf("pubsub mode kept a seq: %d", head)
	}
}
