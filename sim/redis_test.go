package sim

import (
	"testing"
	"time"

	"chatlab/system/broker/redisscript"
	"chatlab/system/node"
)

// scriptRedis is a simulated Redis with a clock the test moves, driven
// through the broker's own script calls.
type scriptRedis struct {
	t     *testing.T
	now   time.Duration
	redis *Redis
}

func newScriptRedis(t *testing.T) *scriptRedis {
	s := &scriptRedis{t: t}
	s.redis = NewRedis(func() time.Duration { return s.now })
	return s
}

func (s *scriptRedis) publish(req node.PublishRequest, historyLenMax, dedupeTTLSeconds int) node.PublishReply {
	s.t.Helper()
	call, err := redisscript.Publish(req, historyLenMax, dedupeTTLSeconds)
	if err != nil {
		s.t.Fatal(err)
	}
	result, err := s.redis.Eval(call.Source, call.Keys, call.Args)
	if err != nil {
		s.t.Fatalf("publish script: %v", err)
	}
	reply, err := redisscript.PublishReply(result.([]any))
	if err != nil {
		s.t.Fatal(err)
	}
	return reply
}

func (s *scriptRedis) fetch(req node.FetchRequest) node.FetchReply {
	s.t.Helper()
	call, err := redisscript.Fetch(req)
	if err != nil {
		s.t.Fatal(err)
	}
	result, err := s.redis.Eval(call.Source, call.Keys, call.Args)
	if err != nil {
		s.t.Fatalf("fetch script: %v", err)
	}
	reply, err := redisscript.FetchReply(result.([]any))
	if err != nil {
		s.t.Fatal(err)
	}
	return reply
}

func TestRedisRunsThePublishScript(t *testing.T) {
	s := newScriptRedis(t)
	var published []string
	s.redis.publish = func(channel, payload string) int {
		published = append(published, channel+" "+payload)
		return 1
	}
	reply := s.publish(node.PublishRequest{Room: "a", ID: "x-1", From: "u", Body: "b", TS: 5, EpochCandidate: "e1"}, 3, 60)
	if reply.Seq != 1 || reply.Epoch != "e1" || reply.Duplicate {
		t.Fatalf("first publish: %+v", reply)
	}
	want := `chatlab:room:a {"seq":1,"epoch":"e1","type":"msg","room":"a","id":"x-1","from":"u","body":"b","ts":5}`
	if len(published) != 1 || published[0] != want {
		t.Fatalf("published %q; want %q", published, want)
	}
	reply = s.publish(node.PublishRequest{Room: "a", ID: "x-1", From: "u", Body: "b", EpochCandidate: "e2"}, 3, 60)
	if reply.Seq != 1 || reply.Epoch != "e1" || !reply.Duplicate || len(published) != 1 {
		t.Fatalf("repeated id: %+v, %d published; want the original seq, no publish", reply, len(published))
	}
	reply = s.publish(node.PublishRequest{Room: "a", ID: "x-1", From: "other", Body: "b", EpochCandidate: "e2"}, 3, 60)
	if reply.Seq != 2 || reply.Duplicate {
		t.Fatalf("same id from another user: %+v; want a new seq", reply)
	}
}

func TestRedisDedupeExpiresOnVirtualTime(t *testing.T) {
	s := newScriptRedis(t)
	send := node.PublishRequest{Room: "a", ID: "x-1", From: "u", Body: "b", EpochCandidate: "e"}
	s.publish(send, 10, 2)
	s.now = 1999 * time.Millisecond
	if reply := s.publish(send, 10, 2); !reply.Duplicate || reply.Seq != 1 {
		t.Fatalf("retry within the dedupe TTL: %+v; want seq 1, duplicate", reply)
	}
	s.now = 2 * time.Second
	if reply := s.publish(send, 10, 2); reply.Duplicate || reply.Seq != 2 {
		t.Fatalf("retry after the dedupe TTL: %+v; want a new message, seq 2", reply)
	}
}

func TestRedisStreamIsTrimmedAndFetchReadsWhatIsLeft(t *testing.T) {
	s := newScriptRedis(t)
	for _, id := range []string{"1", "2", "3", "4", "5"} {
		s.publish(node.PublishRequest{Room: "a", ID: id, From: "u", Body: "b", EpochCandidate: "e"}, 3, 60)
	}
	reply := s.fetch(node.FetchRequest{Room: "a", AfterSeq: 2, Limit: 10, EpochCandidate: "x"})
	if reply.Head != 5 || reply.First != 3 || reply.Epoch != "e" || len(reply.Messages) != 3 || reply.Messages[0].Seq != 3 {
		t.Fatalf("fetch after 2: %+v", reply)
	}
	reply = s.fetch(node.FetchRequest{Room: "a", AfterSeq: 3, Limit: 1, EpochCandidate: "x"})
	if len(reply.Messages) != 1 || reply.Messages[0].Seq != 4 || reply.Messages[0].ID != "4" {
		t.Fatalf("fetch after 3 limit 1: %+v", reply.Messages)
	}
	empty := s.fetch(node.FetchRequest{Room: "b", Limit: 5, EpochCandidate: "eb"})
	if empty.Head != 0 || empty.First != 1 || empty.Epoch != "eb" || len(empty.Messages) != 0 {
		t.Fatalf("fetch of an empty room: %+v", empty)
	}
}

func TestRedisFlushLosesDataAndTheEpochChanges(t *testing.T) {
	s := newScriptRedis(t)
	s.publish(node.PublishRequest{Room: "a", ID: "1", From: "u", Body: "b", EpochCandidate: "old"}, 10, 60)
	s.redis.Flush()
	reply := s.publish(node.PublishRequest{Room: "a", ID: "1", From: "u", Body: "b", EpochCandidate: "new"}, 10, 60)
	if reply.Seq != 1 || reply.Epoch != "new" || reply.Duplicate {
		t.Fatalf("after a flush: %+v; want seq 1 in a new epoch", reply)
	}
	if head, epoch := s.redis.Head("a"); head != 1 || epoch != "new" {
		t.Fatalf("head %d epoch %q", head, epoch)
	}
}

func TestRedisScriptErrorsAreErrorReplies(t *testing.T) {
	s := newScriptRedis(t)
	if _, err := s.redis.Do("SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.redis.Eval("return redis.call('INCR', KEYS[1])", []string{"k"}, nil); err == nil {
		t.Fatal("INCR of a non-number inside a script did not fail")
	}
	result, err := s.redis.Eval("return redis.pcall('INCR', KEYS[1])", []string{"k"}, nil)
	if err == nil || result != nil {
		t.Fatalf("pcall's error table came back as %#v, %v; want an error reply", result, err)
	}
	if _, err := s.redis.Eval("return os.time()", nil, nil); err == nil {
		t.Fatal("a script reached the os library: the wall clock is within reach")
	}
}

func TestRedisScriptsSeeOnlyTheirOwnKeysAndArguments(t *testing.T) {
	s := newScriptRedis(t)
	if _, err := s.redis.Eval("return #KEYS", []string{"a", "b", "c"}, []string{"1", "2"}); err != nil {
		t.Fatal(err)
	}
	result, err := s.redis.Eval("return {#KEYS, #ARGV, KEYS[1]}", []string{"x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := result.([]any); !ok || len(got) != 3 || got[0] != int64(1) || got[1] != int64(0) || got[2] != "x" {
		t.Fatalf("a call after a longer one saw %#v; want {1, 0, x}", result)
	}
}
