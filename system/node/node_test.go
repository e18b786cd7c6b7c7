package node

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"chatlab/system/protocol"
)

func TestOpenSendsWelcome(t *testing.T) {
	h := newHarness(t, Config{ID: "n7"})
	h.open(1, "alice")
	frames := h.take(1)
	if len(frames) != 1 || frames[0].Type != protocol.TypeWelcome || frames[0].Node != "n7" || frames[0].User != "alice" {
		t.Fatalf("frames = %+v, want one welcome from n7 to alice", frames)
	}
}

func TestJoinSubscribesThenReportsHead(t *testing.T) {
	h := newHarness(t, Config{})
	h.seed("r", 5)
	h.open(1, "alice")
	h.take(1)
	h.frame(1, `{"type":"join","room":"r"}`)
	if !h.subscribed["r"] {
		t.Fatal("join of a new room did not subscribe it")
	}
	if len(h.fetches) != 1 || h.fetches[0].AfterSeq != 0 {
		t.Fatalf("fetches = %+v, want one fetch for the head", h.fetches)
	}
	if got := h.take(1); len(got) != 0 {
		t.Fatalf("joined before the head was known: %+v", got)
	}
	h.answer()
	frames := h.take(1)
	if len(frames) != 1 || frames[0].Type != protocol.TypeJoined || frames[0].Head != 5 || frames[0].Epoch != "e0" {
		t.Fatalf("frames = %+v, want joined head 5 epoch e0", frames)
	}
}

func TestSendAcksAndDeliversOnceToEveryMember(t *testing.T) {
	h := newHarness(t, Config{})
	for conn, user := range map[ConnID]string{1: "alice", 2: "bob"} {
		h.open(conn, user)
	}
	h.frame(1, `{"type":"join","room":"r"}`)
	h.frame(2, `{"type":"join","room":"r"}`)
	h.answer()
	h.take(1)
	h.take(2)
	h.frame(1, `{"type":"send","room":"r","id":"a-1","body":"hi"}`)
	h.answer()
	// The published message also arrives over the subscription: no double delivery.
	h.n.Message(h.published[0])
	h.collect()
	got1, got2 := h.take(1), h.take(2)
	if len(got1) != 2 || got1[0].Type != protocol.TypeAck || got1[0].Seq != 1 || got1[0].ID != "a-1" || got1[1].Type != protocol.TypeMsg {
		t.Fatalf("sender frames = %+v, want ack seq 1 then the msg", got1)
	}
	if len(got2) != 1 || got2[0].Seq != 1 || got2[0].FromUser != "alice" || got2[0].Body != "hi" {
		t.Fatalf("other member frames = %+v, want the msg once", got2)
	}
}

func TestOutOfOrderArrivalsAreDeliveredInSeqOrder(t *testing.T) {
	h := newHarness(t, Config{})
	h.open(1, "alice")
	h.frame(1, `{"type":"join","room":"r"}`)
	h.answer()
	h.take(1)
	h.seed("r", 3)
	h.n.Message(h.storeMsg("r", 3))
	h.n.Message(h.storeMsg("r", 2))
	h.collect()
	if got := h.seqs(1); len(got) != 0 {
		t.Fatalf("delivered %v before seq 1 arrived", got)
	}
	h.n.Message(h.storeMsg("r", 1))
	h.collect()
	if got := h.seqs(1); !reflect.DeepEqual(got, []uint64{1, 2, 3}) {
		t.Fatalf("seqs = %v, want [1 2 3]", got)
	}
}

func TestGapIsFilledFromHistory(t *testing.T) {
	h := newHarness(t, Config{})
	h.open(1, "alice")
	h.frame(1, `{"type":"join","room":"r"}`)
	h.answer()
	h.take(1)
	h.seed("r", 4)
	h.n.Message(h.storeMsg("r", 4)) // 1, 2 and 3 were lost by pub/sub
	h.collect()
	if len(h.fetches) != 1 || h.fetches[0].AfterSeq != 0 {
		t.Fatalf("fetches = %+v, want one gap fetch after seq 0", h.fetches)
	}
	h.answer()
	if got := h.seqs(1); !reflect.DeepEqual(got, []uint64{1, 2, 3, 4}) {
		t.Fatalf("seqs = %v, want [1 2 3 4]", got)
	}
}

func TestLostLastMessageIsFoundByThePoll(t *testing.T) {
	h := newHarness(t, Config{RoomPollIntervalMs: 1000})
	h.open(1, "alice")
	h.frame(1, `{"type":"join","room":"r"}`)
	h.answer()
	h.take(1)
	h.seed("r", 2) // published while nothing reached this node
	h.n.Tick(999)
	h.collect()
	if len(h.fetches) != 0 {
		t.Fatalf("polled before the interval: %+v", h.fetches)
	}
	h.n.Tick(1000)
	h.collect()
	h.answer()
	if got := h.seqs(1); !reflect.DeepEqual(got, []uint64{1, 2}) {
		t.Fatalf("seqs = %v, want [1 2]", got)
	}
}

func TestResumeReplaysAfterSinceFromTheRing(t *testing.T) {
	h := newHarness(t, Config{})
	h.open(1, "alice")
	h.frame(1, `{"type":"join","room":"r"}`)
	h.answer()
	h.seed("r", 5)
	for seq := uint64(1); seq <= 5; seq++ {
		h.n.Message(h.storeMsg("r", seq))
	}
	h.collect()
	h.open(2, "bob")
	h.take(2)
	fetchesBefore := len(h.fetches)
	h.frame(2, `{"type":"join","room":"r","since":2,"epoch":"%s"}`, h.store.epoch["r"])
	if len(h.fetches) != fetchesBefore {
		t.Fatalf("resume inside the ring fetched history: %+v", h.fetches)
	}
	frames := h.take(2)
	if frames[0].Type != protocol.TypeJoined || frames[0].Head != 5 {
		t.Fatalf("first frame %+v, want joined head 5", frames[0])
	}
	var seqs []uint64
	for _, f := range frames[1:] {
		seqs = append(seqs, f.Seq)
	}
	if !reflect.DeepEqual(seqs, []uint64{3, 4, 5}) {
		t.Fatalf("replayed %v, want [3 4 5]", seqs)
	}
}

func TestResumeBeyondTheRingFetchesHistory(t *testing.T) {
	h := newHarness(t, Config{RecentLenMax: 4, FetchLimit: 3})
	h.open(1, "alice")
	h.frame(1, `{"type":"join","room":"r"}`)
	h.answer()
	h.seed("r", 10)
	for seq := uint64(1); seq <= 10; seq++ {
		h.n.Message(h.storeMsg("r", seq))
	}
	h.collect()
	h.open(2, "bob")
	h.take(2)
	h.frame(2, `{"type":"join","room":"r","since":1,"epoch":"%s"}`, h.store.epoch["r"])
	h.answer()
	if got := h.seqs(2); !reflect.DeepEqual(got, []uint64{2, 3, 4, 5, 6, 7, 8, 9, 10}) {
		t.Fatalf("replayed %v, want 2..10", got)
	}
	// Live after the replay.
	h.seed("r", 1)
	h.n.Message(h.storeMsg("r", 11))
	h.collect()
	if got := h.seqs(2); !reflect.DeepEqual(got, []uint64{11}) {
		t.Fatalf("live after replay: %v, want [11]", got)
	}
}

func TestResumeIntoTrimmedHistorySaysReset(t *testing.T) {
	h := newHarness(t, Config{})
	h.seed("r", 10)
	h.store.first["r"] = 7 // history before 7 was trimmed away
	h.open(1, "alice")
	h.take(1)
	h.frame(1, `{"type":"join","room":"r","since":2,"epoch":"e0"}`)
	h.answer()
	frames := h.take(1)
	if frames[0].Type != protocol.TypeJoined || frames[1].Type != protocol.TypeReset || frames[1].FromSeq != 7 {
		t.Fatalf("frames = %+v, want joined then reset from 7", frames)
	}
	var seqs []uint64
	for _, f := range frames[2:] {
		seqs = append(seqs, f.Seq)
	}
	if !reflect.DeepEqual(seqs, []uint64{7, 8, 9, 10}) {
		t.Fatalf("replayed %v, want [7 8 9 10]", seqs)
	}
}

func TestEpochChangeResetsMembers(t *testing.T) {
	h := newHarness(t, Config{})
	h.seed("r", 3)
	h.open(1, "alice")
	h.frame(1, `{"type":"join","room":"r"}`)
	h.answer()
	h.take(1)
	// The broker lost its data: a new epoch, seqs restart.
	h.store = newStore()
	h.store.publish(PublishRequest{Room: "r", ID: "x", From: "bob", Body: "b", EpochCandidate: "e1"})
	h.n.BrokerDown()
	h.n.BrokerUp()
	h.collect()
	h.answer()
	frames := h.take(1)
	if len(frames) != 2 || frames[0].Type != protocol.TypeReset || frames[0].FromSeq != 1 || frames[0].Epoch != "e1" ||
		frames[1].Type != protocol.TypeMsg || frames[1].Seq != 1 || frames[1].Epoch != "e1" {
		t.Fatalf("frames = %+v, want reset from 1 in e1, then seq 1", frames)
	}
}

func TestJoinWithAnOldEpochStartsOver(t *testing.T) {
	h := newHarness(t, Config{})
	h.seed("r", 2)
	h.open(1, "alice")
	h.take(1)
	h.frame(1, `{"type":"join","room":"r","since":40,"epoch":"gone"}`)
	h.answer()
	if got := h.types(1); !reflect.DeepEqual(got, []string{"joined", "reset", "msg", "msg"}) {
		t.Fatalf("frames = %v, want joined, reset, msg 1, msg 2", got)
	}
}

func TestSlowConsumerIsCutOff(t *testing.T) {
	h := newHarness(t, Config{SendQueueLenMax: 4})
	h.open(1, "alice")
	h.open(2, "bob")
	h.slow[2] = true
	h.frame(1, `{"type":"join","room":"r"}`)
	h.frame(2, `{"type":"join","room":"r"}`)
	h.answer()
	h.seed("r", 5)
	for seq := uint64(1); seq <= 5; seq++ {
		h.n.Message(h.storeMsg("r", seq))
		h.collect()
	}
	if h.closes[2] != protocol.CloseReconnect {
		t.Fatalf("slow consumer closes = %v, want %d", h.closes, protocol.CloseReconnect)
	}
	if _, closed := h.closes[1]; closed {
		t.Fatal("the reading member was closed too")
	}
	if got := h.n.Counters().SlowConsumers; got != 1 {
		t.Fatalf("slow consumer counter = %d, want 1", got)
	}
	if got := h.seqs(1); len(got) != 5 {
		t.Fatalf("reading member got %v, want 5 messages", got)
	}
}

func TestRateLimitRefillsWithTheClock(t *testing.T) {
	h := newHarness(t, Config{RateBurst: 2, RatePerSecond: 1})
	h.open(1, "alice")
	h.frame(1, `{"type":"join","room":"r"}`)
	h.answer()
	h.take(1)
	for i := 0; i < 3; i++ {
		h.frame(1, `{"type":"send","room":"r","id":"s%d","body":"x"}`, i)
	}
	frames := h.take(1)
	accepted := func() uint64 { return h.n.Counters().Publishes }
	if accepted() != 2 || len(frames) != 1 || frames[0].Code != protocol.CodeRateLimited || frames[0].Ref != "s2" {
		t.Fatalf("publishes %d, frames %+v; want 2 publishes and rate_limited for s2", accepted(), frames)
	}
	h.n.Tick(999)
	h.frame(1, `{"type":"send","room":"r","id":"s2","body":"x"}`)
	if accepted() != 2 {
		t.Fatal("a token came back before a second passed")
	}
	h.n.Tick(1000)
	h.frame(1, `{"type":"send","room":"r","id":"s2","body":"x"}`)
	if accepted() != 3 {
		t.Fatal("no token after a second")
	}
}

func TestBadFramesGetTheirCodeAndTheConnectionKeepsWorking(t *testing.T) {
	h := newHarness(t, Config{})
	h.open(1, "alice")
	h.take(1)
	cases := map[string]protocol.Code{
		`{"type":"join"`:                                           protocol.CodeBadJSON,
		"{\"type\":\"join\",\"room\":\"\xff\"}":                    protocol.CodeBadUTF8,
		`{"type":"dance"}`:                                         protocol.CodeUnknownType,
		`{"room":"r"}`:                                             protocol.CodeUnknownType,
		`{"type":"join","room":"r","color":"red"}`:                 protocol.CodeUnknownField,
		`{"type":"send","room":"r","body":"x"}`:                    protocol.CodeMissingField,
		`{"type":"join","room":"` + strings.Repeat("a", 65) + `"}`: protocol.CodeFieldTooLong,
		`{"type":"join","room":"a b"}`:                             protocol.CodeBadRoom,
		`{"type":"send","room":"nope","id":"1","body":"x"}`:        protocol.CodeNotMember,
		`{"type":"join","room":7}`:                                 protocol.CodeBadJSON,
	}
	for frame, code := range cases {
		h.frame(1, "%s", frame)
		got := h.take(1)
		if len(got) != 1 || got[0].Type != protocol.TypeError || got[0].Code != code {
			t.Errorf("frame %q: got %+v, want error %s", frame, got, code)
		}
	}
	if len(h.closes) != 0 {
		t.Fatalf("bad frames closed the connection: %v", h.closes)
	}
	h.frame(1, `{"type":"join","room":"r"}`)
	h.answer()
	if got := h.types(1); !reflect.DeepEqual(got, []string{"joined"}) {
		t.Fatalf("after bad frames the join got %v", got)
	}
}

// A join or resume whose since is out of range (above 2^53-1, what a JSON
// number carries exactly) is refused with out_of_range naming the room: no
// membership, no subscribe, no fetch (a since of 2^63 used to get joined,
// then a fetch the broker refuses, retried every FetchRetryMs for ever).
// The connection's other rooms go on, and so does a membership of the same
// room it already had.
func TestSinceOutOfRangeIsRefusedWithoutABrokerCall(t *testing.T) {
	h := newHarness(t, Config{})
	h.seed("r", 3)
	h.open(1, "alice")
	h.open(2, "bob")
	h.frame(1, `{"type":"join","room":"r"}`)
	h.frame(2, `{"type":"join","room":"r"}`)
	h.answer()
	h.take(1)
	h.take(2)
	fetches := h.n.Snapshot().Counters.Fetches
	for _, frame := range []string{
		`{"type":"join","room":"far","since":9223372036854775808}`,
		`{"type":"join","room":"far","since":9007199254740992,"epoch":"e0"}`,
		`{"type":"join","room":"far","since":18446744073709551616}`,
		`{"type":"join","room":"r","since":9223372036854775808,"epoch":"e0"}`,
	} {
		h.frame(1, "%s", frame)
		got := h.take(1)
		if len(got) != 1 || got[0].Type != protocol.TypeError || got[0].Code != protocol.CodeOutOfRange || (got[0].Ref != "far" && got[0].Ref != "r") {
			t.Fatalf("%s: got %+v; want one error out_of_range naming the room", frame, got)
		}
	}
	if len(h.fetches) != 0 || h.n.Snapshot().Counters.Fetches != fetches || h.subscribed["far"] || len(h.closes) != 0 {
		t.Fatalf("fetches %+v (counter %d, was %d), subscribed %v, closes %v; want no broker call and the connection open",
			h.fetches, h.n.Snapshot().Counters.Fetches, fetches, h.subscribed, h.closes)
	}
	// A minute on, the only broker calls are r's own history polls.
	polls := 0
	for now := int64(500); now <= 60_000; now += 500 {
		h.n.Tick(now)
		h.collect()
		for _, f := range h.fetches {
			if f.Room != "r" || f.AfterSeq != 3 {
				t.Fatalf("fetch %+v at %d ms; want only r's polls after its head 3", f, now)
			}
			polls++
		}
		h.answer()
	}
	if polls == 0 || polls > 30 {
		t.Fatalf("%d polls of r in a minute; want one every 2 s", polls)
	}
	h.frame(2, `{"type":"send","room":"r","id":"b-1","body":"still there?"}`)
	h.answer()
	h.n.Message(h.published[0])
	h.collect()
	if got := h.take(1); len(got) != 1 || got[0].Type != protocol.TypeMsg || got[0].Seq != 4 || got[0].ID != "b-1" {
		t.Fatalf("alice got %+v; want bob's message at seq 4 in the room she still is in", got)
	}
}

func TestOversizedFrameClosesWith1009(t *testing.T) {
	h := newHarness(t, Config{})
	h.open(1, "alice")
	h.frame(1, "%s", strings.Repeat("x", protocol.FrameBytesMax+1))
	if h.closes[1] != protocol.CloseMessageTooBig {
		t.Fatalf("closes = %v, want 1009", h.closes)
	}
}

func TestTooManyRooms(t *testing.T) {
	h := newHarness(t, Config{})
	h.open(1, "alice")
	for i := 0; i < protocol.RoomsPerConnectionMax; i++ {
		h.frame(1, `{"type":"join","room":"r%d"}`, i)
	}
	h.answer()
	h.take(1)
	h.frame(1, `{"type":"join","room":"one-more"}`)
	if got := h.take(1); len(got) != 1 || got[0].Code != protocol.CodeTooManyRooms {
		t.Fatalf("got %+v, want too_many_rooms", got)
	}
}

func TestBrokerDownRefusesSendsAndBrokerUpCatchesUp(t *testing.T) {
	h := newHarness(t, Config{})
	h.open(1, "alice")
	h.frame(1, `{"type":"join","room":"r"}`)
	h.answer()
	h.take(1)
	h.n.BrokerDown()
	h.frame(1, `{"type":"send","room":"r","id":"a","body":"x"}`)
	if got := h.take(1); len(got) != 1 || got[0].Code != protocol.CodeUnavailable || got[0].Ref != "a" {
		t.Fatalf("got %+v, want unavailable for a", got)
	}
	h.seed("r", 2) // published by other nodes while this one was cut off
	h.n.BrokerUp()
	h.collect()
	h.answer()
	if got := h.seqs(1); !reflect.DeepEqual(got, []uint64{1, 2}) {
		t.Fatalf("caught up %v, want [1 2]", got)
	}
}

func TestFailedPublishAsksForAResendAndTheResendIsDeduplicated(t *testing.T) {
	h := newHarness(t, Config{})
	h.member(1, "alice", "r")
	h.frame(1, `{"type":"send","room":"r","id":"a","body":"x"}`)
	// The publish was applied, but its reply was lost on the way back.
	req := h.publishes[0]
	h.publishes = nil
	h.store.publish(req)
	h.n.Published(req.Request, PublishReply{}, errTimeout)
	h.collect()
	if got := h.take(1); len(got) != 1 || got[0].Code != protocol.CodeUnavailable {
		t.Fatalf("got %+v, want unavailable", got)
	}
	h.frame(1, `{"type":"send","room":"r","id":"a","body":"x"}`)
	h.answer()
	got := h.take(1)
	if len(got) != 2 || got[0].Type != protocol.TypeAck || got[0].Seq != 1 || got[1].Seq != 1 {
		t.Fatalf("got %+v, want ack seq 1 and the msg once", got)
	}
	if h.store.seq["r"] != 1 {
		t.Fatalf("store seq = %d, want 1: the resend landed twice", h.store.seq["r"])
	}
}

func TestDrainClosesEveryConnectionAndRefusesNewOnes(t *testing.T) {
	h := newHarness(t, Config{})
	h.open(1, "alice")
	h.open(2, "bob")
	h.n.Drain()
	h.collect()
	if h.closes[1] != protocol.CloseReconnect || h.closes[2] != protocol.CloseReconnect {
		t.Fatalf("closes = %v, want 4000 for both", h.closes)
	}
	h.open(3, "carol")
	if h.closes[3] != protocol.CloseReconnect {
		t.Fatal("a draining node accepted a connection")
	}
}

func TestLeaveOfTheLastMemberUnsubscribes(t *testing.T) {
	h := newHarness(t, Config{})
	h.open(1, "alice")
	h.frame(1, `{"type":"join","room":"r"}`)
	h.answer()
	h.frame(1, `{"type":"leave","room":"r"}`)
	if h.subscribed["r"] {
		t.Fatal("room still subscribed after its last member left")
	}
	if snap := h.n.Snapshot(); len(snap.Rooms) != 0 {
		t.Fatalf("snapshot rooms = %+v, want none", snap.Rooms)
	}
}

func TestPubSubModeDeliversWhatArrivesAndNothingElse(t *testing.T) {
	h := newHarness(t, Config{Delivery: PubSub})
	h.open(1, "alice")
	h.frame(1, `{"type":"join","room":"r"}`)
	if len(h.fetches) != 0 {
		t.Fatalf("pubsub mode fetched history: %+v", h.fetches)
	}
	if got := h.types(1); !reflect.DeepEqual(got, []string{"welcome", "joined"}) {
		t.Fatalf("got %v", got)
	}
	h.n.Message(protocol.Msg{Type: protocol.TypeMsg, Room: "r", ID: "b", From: "x", Body: "2"})
	h.n.Message(protocol.Msg{Type: protocol.TypeMsg, Room: "r", ID: "a", From: "x", Body: "1"})
	h.n.BrokerDown()
	h.n.BrokerUp()
	h.collect()
	var ids []string
	for _, f := range h.take(1) {
		ids = append(ids, f.ID)
	}
	if !reflect.DeepEqual(ids, []string{"b", "a"}) || len(h.fetches) != 0 {
		t.Fatalf("ids %v, fetches %d; want arrival order and no catch-up", ids, len(h.fetches))
	}
}

type timeoutError struct{}

func (timeoutError) Error() string { return "timeout" }

var errTimeout error = timeoutError{}

func TestLongResumeIsPacedByFlushesNotCutOff(t *testing.T) {
	h := newHarness(t, Config{SendQueueLenMax: 8, RecentLenMax: 16, FetchLimit: 10})
	h.open(1, "alice")
	h.frame(1, `{"type":"join","room":"r"}`)
	h.answer()
	h.seed("r", 40)
	for seq := uint64(1); seq <= 40; seq++ {
		h.n.Message(h.storeMsg("r", seq))
	}
	h.collect()
	h.open(2, "bob")
	h.take(2)
	h.slow[2] = true // frames are written only when the test says so
	h.frame(2, `{"type":"join","room":"r","since":3,"epoch":"%s"}`, h.store.epoch["r"])
	h.answer()
	var seqs []uint64
	for round := 0; round < 100 && len(seqs) < 37; round++ {
		frames := h.take(2)
		if len(frames) > 4+1 { // the replay budget (half the queue), and the joined frame once
			t.Fatalf("round %d: %d frames unwritten at once; the replay budget is 4", round, len(frames))
		}
		for _, f := range frames {
			if f.Type == protocol.TypeMsg {
				seqs = append(seqs, f.Seq)
			}
		}
		h.n.Flushed(2, len(frames))
		h.collect()
		h.answer()
	}
	if _, cut := h.closes[2]; cut {
		t.Fatal("a resuming member was cut off as a slow consumer by its own replay")
	}
	want := make([]uint64, 0, 37)
	for seq := uint64(4); seq <= 40; seq++ {
		want = append(want, seq)
	}
	if !reflect.DeepEqual(seqs, want) {
		t.Fatalf("replayed %v, want 4..40", seqs)
	}
	// Live after the replay.
	h.seed("r", 1)
	h.n.Message(h.storeMsg("r", 41))
	h.collect()
	if got := h.seqs(2); !reflect.DeepEqual(got, []uint64{41}) {
		t.Fatalf("live after the replay: %v", got)
	}
}

// A member further behind the oldest held seq than one fetch reaches gets
// one reset to that seq and then everything from there: the fetch window
// below history is empty, which says nothing about what history holds.
func TestResumeFarBelowTrimmedHistoryResetsOnceAndReplaysEverything(t *testing.T) {
	for _, since := range []uint64{0, 5, 30} {
		t.Run(fmt.Sprintf("since %d", since), func(t *testing.T) {
			h := trimmedRoom(t, 120, 41) // the stream keeps 80 messages
			h.frame(1, `{"type":"join","room":"r","since":%d,"epoch":"e0"}`, since)
			h.answer()
			frames := h.take(1)
			if len(frames) < 2 || frames[0].Type != protocol.TypeJoined || frames[1].Type != protocol.TypeReset || frames[1].FromSeq != 41 {
				t.Fatalf("frames start %+v, want joined then reset from 41", frames[:min(len(frames), 3)])
			}
			var seqs []uint64
			for _, f := range frames[2:] {
				if f.Type != protocol.TypeMsg {
					t.Fatalf("frame %+v after the reset; want only msgs 41..120", f)
				}
				seqs = append(seqs, f.Seq)
			}
			if len(seqs) != 80 || seqs[0] != 41 || seqs[79] != 120 {
				t.Fatalf("replayed %d msgs (%v...), want 41..120", len(seqs), seqs[:min(len(seqs), 5)])
			}
		})
	}
}

// A room whose own catch-up lands below the oldest held seq skips to it and
// goes on fetching from there, instead of waiting for the next poll.
func TestRoomCatchUpFarBelowTrimmedHistoryFetchesOnFromTheOldestHeld(t *testing.T) {
	h := newHarness(t, Config{FetchLimit: 4})
	h.open(1, "alice")
	h.frame(1, `{"type":"join","room":"r"}`)
	h.answer()
	h.take(1)
	h.seed("r", 30)
	h.store.first["r"] = 21 // the room missed 30 messages; history keeps 10
	h.n.BrokerDown()
	h.n.BrokerUp()
	h.collect()
	h.answer()
	frames := h.take(1)
	if len(frames) != 11 || frames[0].Type != protocol.TypeReset || frames[0].FromSeq != 21 {
		t.Fatalf("frames = %+v, want reset from 21 then msgs 21..30", frames)
	}
	for i, f := range frames[1:] {
		if f.Type != protocol.TypeMsg || f.Seq != uint64(21+i) {
			t.Fatalf("frame %d = %+v, want msg %d", i+1, f, 21+i)
		}
	}
}

// History trimmed again between the fetch that finds a member below it and
// the one that reads it still costs the member one reset, to the oldest seq
// held when the messages are read.
func TestResumeBelowHistoryTrimmedMeanwhileResetsOnce(t *testing.T) {
	h := trimmedRoom(t, 120, 41)
	h.frame(1, `{"type":"join","room":"r","since":0,"epoch":"e0"}`)
	for round := 0; round < 2; round++ { // the room's sync, then the member's first fetch
		fetches := h.fetches
		h.fetches = nil
		for _, req := range fetches {
			h.n.Fetched(req.Request, h.store.fetch(req), nil)
			h.collect()
		}
	}
	h.store.first["r"] = 61 // trimmed while the next fetch is on its way
	h.answer()
	var resets []uint64
	var seqs []uint64
	for _, f := range h.take(1) {
		switch f.Type {
		case protocol.TypeReset:
			resets = append(resets, f.FromSeq)
		case protocol.TypeMsg:
			seqs = append(seqs, f.Seq)
		}
	}
	if !reflect.DeepEqual(resets, []uint64{61}) || len(seqs) != 60 || seqs[0] != 61 || seqs[59] != 120 {
		t.Fatalf("resets %v, %d msgs from %v; want one reset from 61, then 61..120", resets, len(seqs), seqs[:min(len(seqs), 3)])
	}
}

// A member that claims seqs beyond the room's head in this epoch, while
// history is trimmed, is reset once, to the oldest seq held.
func TestResumeBeyondTheHeadWithTrimmedHistoryResetsOnce(t *testing.T) {
	h := trimmedRoom(t, 30, 21)
	h.frame(1, `{"type":"join","room":"r","since":500,"epoch":"e0"}`)
	h.answer()
	if got := h.types(1); !reflect.DeepEqual(got[:2], []string{"joined", "reset"}) || len(got) != 12 {
		t.Fatalf("frames %v; want joined, one reset, then msgs 21..30", got)
	}
}

// trimmedRoom is a node with a small ring and fetch window, a room "r"
// whose history holds seqs first..published, and alice connected.
func trimmedRoom(t *testing.T, published int, first uint64) *harness {
	h := newHarness(t, Config{FetchLimit: 4, RecentLenMax: 8})
	h.seed("r", published)
	h.store.first["r"] = first
	h.open(1, "alice")
	h.take(1)
	return h
}

// A room that catches up after its broker link came back hands its members
// what they missed paced by their flushes: history the member did not fall
// behind on itself never cuts it off as a slow consumer.
func TestRoomCatchUpIsPacedByFlushesNotCutOff(t *testing.T) {
	h := newHarness(t, Config{SendQueueLenMax: 8, RecentLenMax: 64, FetchLimit: 30})
	h.open(1, "alice")
	h.frame(1, `{"type":"join","room":"r"}`)
	h.answer()
	h.take(1)
	h.slow[1] = true // frames are written only when the test says so
	h.n.BrokerDown()
	h.seed("r", 25) // published by other nodes while this one was cut off
	h.n.BrokerUp()
	h.collect()
	h.answer()
	var seqs []uint64
	for round := 0; round < 100 && len(seqs) < 25; round++ {
		frames := h.take(1)
		if len(frames) > 8 {
			t.Fatalf("round %d: %d frames unwritten at once; the send queue holds 8", round, len(frames))
		}
		for _, f := range frames {
			if f.Type == protocol.TypeMsg {
				seqs = append(seqs, f.Seq)
			}
		}
		if _, cut := h.closes[1]; cut {
			t.Fatalf("round %d: a reading member was cut off by its room's catch-up", round)
		}
		h.n.Flushed(1, len(frames))
		h.collect()
		h.answer()
	}
	want := make([]uint64, 0, 25)
	for seq := uint64(1); seq <= 25; seq++ {
		want = append(want, seq)
	}
	if !reflect.DeepEqual(seqs, want) {
		t.Fatalf("caught up %v, want 1..25", seqs)
	}
	h.seed("r", 1)
	h.n.Message(h.storeMsg("r", 26))
	h.collect()
	if got := h.seqs(1); !reflect.DeepEqual(got, []uint64{26}) {
		t.Fatalf("live after the catch-up: %v", got)
	}
}

// Advance reuses a carried-out Ready's lists: the next Ready holds only
// what came after, and a Ready handed back after another input is not
// taken (that input's effects stay).
func TestAdvanceReusesListsWithoutMixingReadies(t *testing.T) {
	counter := uint64(0)
	n := New(Config{ID: "n1", Random: func() uint64 { counter++; return counter }})
	n.BrokerUp()
	n.Open(1, "a")
	n.Open(2, "b")
	first := n.Ready()
	if len(first.Frames) != 2 {
		t.Fatalf("%d welcome frames, want 2", len(first.Frames))
	}
	welcomeTo := first.Frames[1].Conn
	n.Advance(first)
	n.Receive(1, []byte(`{"type":"join","room":"r"}`))
	second := n.Ready()
	if len(second.Frames) != 0 || len(second.Subscribes) != 1 || second.Subscribes[0] != "r" {
		t.Fatalf("after advance: frames %v subscribes %v, want only the join's subscribe", second.Frames, second.Subscribes)
	}
	if cap(second.Frames) == 0 || &second.Frames[:1][0] != &first.Frames[:1][0] {
		t.Fatalf("the frame list was not reused")
	}
	if first.Frames[:2][1].Conn != 0 || first.Frames[:2][1].Data != nil {
		t.Fatalf("a handed-back frame still holds conn %d (was %d)", first.Frames[:2][1].Conn, welcomeTo)
	}
	// An input between Ready and Advance: the handed-back lists must not
	// replace what that input produced.
	n.Open(3, "c")
	n.Advance(second)
	third := n.Ready()
	if len(third.Frames) != 1 || third.Frames[0].Conn != 3 {
		t.Fatalf("frames %v, want the welcome of conn 3", third.Frames)
	}
}

// closesOf carries out one Ready and returns its closes.
func (h *harness) closesOf() []CloseConn {
	h.t.Helper()
	rd := h.n.Ready()
	closes := append([]CloseConn(nil), rd.Closes...)
	h.n.Advance(rd)
	return closes
}

// A node cut off from its broker longer than its grace moves its clients
// (4000, so that they resume on a node that can deliver to them) and
// refuses new ones until the broker is back; a shorter outage keeps them.
func TestBrokerLostBeyondTheGraceMovesClientsAndRefusesNewOnes(t *testing.T) {
	h := newHarness(t, Config{BrokerLostGraceMs: 2000})
	h.n.Tick(1000)
	h.open(1, "alice")
	h.open(2, "bob")
	h.n.BrokerDown()
	h.n.Tick(2500)
	h.n.BrokerUp() // back within the grace: nobody moves
	h.n.Tick(9000)
	if closes := h.closesOf(); len(closes) != 0 {
		t.Fatalf("an outage of 1.5 s closed %+v", closes)
	}
	h.n.BrokerDown()
	h.n.Tick(10999)
	if closes := h.closesOf(); len(closes) != 0 || h.n.BrokerLost() {
		t.Fatalf("within the grace: closes %+v", closes)
	}
	h.n.Tick(11000)
	closes := h.closesOf()
	want := []CloseConn{{Conn: 1, Code: protocol.CloseReconnect, Reason: protocol.ReasonBrokerLost},
		{Conn: 2, Code: protocol.CloseReconnect, Reason: protocol.ReasonBrokerLost}}
	if !reflect.DeepEqual(closes, want) || !h.n.BrokerLost() {
		t.Fatalf("after the grace: closes %+v, want %+v", closes, want)
	}
	h.n.Open(3, "carol")
	if closes := h.closesOf(); len(closes) != 1 || closes[0].Conn != 3 || closes[0].Reason != protocol.ReasonBrokerLost {
		t.Fatalf("a new connection while the broker is lost: closes %+v", closes)
	}
	h.n.BrokerUp()
	h.open(4, "dan")
	if got := h.types(4); !reflect.DeepEqual(got, []string{"welcome"}) || len(h.closes) != 0 || h.n.BrokerLost() {
		t.Fatalf("after the broker is back: %v, closes %v", got, h.closes)
	}
}

// A node that never reaches its broker counts the grace from its first
// Tick; a negative grace keeps clients through any outage.
func TestBrokerLostGraceFromTheStartAndOff(t *testing.T) {
	counter := uint64(0)
	n := New(Config{ID: "n1", Random: func() uint64 { counter++; return counter }})
	n.Tick(50_000)
	n.Open(1, "alice")
	n.Tick(51_999)
	if rd := n.Ready(); len(rd.Closes) != 0 {
		t.Fatalf("within the default grace: %+v", rd.Closes)
	}
	n.Tick(52_000)
	if rd := n.Ready(); len(rd.Closes) != 1 || rd.Closes[0].Reason != protocol.ReasonBrokerLost {
		t.Fatalf("after the default grace: %+v", rd.Closes)
	}
	off := New(Config{ID: "n2", BrokerLostGraceMs: -1, Random: func() uint64 { counter++; return counter }})
	off.Tick(1)
	off.Open(1, "alice")
	off.Tick(1_000_000)
	if rd := off.Ready(); len(rd.Closes) != 0 || off.BrokerLost() {
		t.Fatalf("grace off: %+v", rd.Closes)
	}
}

// A joined carries its join's ref, in both delivery modes and whether the
// room was synced already or not: a client that left and joined again
// before the first joined came tells the two memberships apart by it.
func TestJoinedEchoesTheJoinsRef(t *testing.T) {
	for _, delivery := range []Delivery{Recover, PubSub} {
		h := newHarness(t, Config{Delivery: delivery})
		h.seed("r", 2)
		h.open(1, "alice")
		h.take(1)
		h.frame(1, `{"type":"join","room":"r","ref":"j1"}`) // the room is not synced yet
		h.answer()
		h.frame(1, `{"type":"leave","room":"r"}`)
		h.frame(1, `{"type":"join","room":"r"}`)
		h.frame(1, `{"type":"leave","room":"r"}`)
		h.frame(1, `{"type":"join","room":"r","ref":"j3"}`)
		h.answer()
		var refs []string
		for _, f := range h.take(1) {
			if f.Type == protocol.TypeJoined {
				refs = append(refs, f.Ref)
			}
		}
		// In recover mode the second join is left before its room's head is
		// known: it is never answered.
		want := []string{"j1", "j3"}
		if delivery == PubSub {
			want = []string{"j1", "", "j3"}
		}
		if !slices.Equal(refs, want) {
			t.Errorf("%v: joined refs = %q, want %q", delivery, refs, want)
		}
	}
}
