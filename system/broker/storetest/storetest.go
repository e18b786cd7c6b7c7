// Package storetest is the contract every store of room history in the
// project meets, as one table of steps and expected answers: the Redis
// adapter on redis-server and on miniredis (system/broker), the
// simulator's Redis running the same scripts (sim), and the node tests'
// fake (system/node). Each replays the table through a small adapter; where
// a store must differ, its adapter names the case and says why, and the
// case is skipped with that reason. The contract is docs/DESIGN.md's "Delivery"
// and broker.Broker's doc comment, in recover mode.
//
// It imports no project package but system/protocol, so that system/node's
// own tests can use it: requests and replies are stated here in plain
// fields.
package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"chatlab/system/protocol"
)

// Config is what every store under contract is built with.
var Config = struct {
	// HistoryLenMax is how many messages a room keeps.
	HistoryLenMax int
	// DedupeTTL is how long a send's (from, id) is remembered.
	DedupeTTL time.Duration
	// ProvisionalEpochTTL is how long an epoch only a fetch named lasts
	// once the room is no longer read (the scripts' fixed 600 s).
	ProvisionalEpochTTL time.Duration
}{HistoryLenMax: 3, DedupeTTL: 10 * time.Second, ProvisionalEpochTTL: 600 * time.Second}

// Send is a publish request.
type Send struct {
	Room, From, ID, EpochCandidate string
	// Body is the message's body ("" stands for one fixed body).
	Body string
}

// Text is the send's body as a store gets it.
func (s Send) Text() string {
	if s.Body == "" {
		return "b"
	}
	return s.Body
}

// Published is a publish reply.
type Published struct {
	Seq       uint64
	Epoch     string
	Duplicate bool
	// Conflict: the id came again with another body; nothing was applied.
	Conflict bool
}

// Fetch is a history request: the held seqs in (After, After+Limit].
type Fetch struct {
	Room           string
	After          uint64
	Limit          int
	EpochCandidate string
}

// Fetched is a history reply, with the seqs of the messages it holds (and
// their ids, to show each seq is the message that got it).
type Fetched struct {
	Epoch       string
	Head, First uint64
	Seqs        []uint64
	IDs         []string
}

// FetchedOf states a fetch reply's fields as the contract compares them.
func FetchedOf(epoch string, head, first uint64, messages []protocol.Msg) Fetched {
	fetched := Fetched{Epoch: epoch, Head: head, First: first}
	for _, msg := range messages {
		fetched.Seqs = append(fetched.Seqs, msg.Seq)
		fetched.IDs = append(fetched.IDs, msg.ID)
	}
	return fetched
}

// Store is one store under contract, fresh and empty, built with Config.
type Store interface {
	Publish(t testing.TB, send Send) Published
	Fetch(t testing.TB, fetch Fetch) Fetched
	// Flush loses every key, as a Redis restart without persistence does.
	Flush(t testing.TB)
	// Advance moves the store's clock: keys with a TTL come d closer to
	// expiring.
	Advance(t testing.TB, d time.Duration)
}

// step is one action and, for a publish or fetch, its expected answer.
type step struct {
	send    *Send
	want    Published
	fetch   *Fetch
	fetched Fetched
	flush   bool
	advance time.Duration
}

func publish(room, from, id, epoch string, want Published) step {
	return step{send: &Send{Room: room, From: from, ID: id, EpochCandidate: epoch}, want: want}
}

func fetch(room string, after uint64, limit int, epoch string, want Fetched) step {
	return step{fetch: &Fetch{Room: room, After: after, Limit: limit, EpochCandidate: epoch}, fetched: want}
}

// fill publishes ids 1..count from u in room r, epoch e, as seqs 1..count.
func fill(count int) []step {
	steps := make([]step, count)
	for i := range steps {
		steps[i] = publish("r", "u", fmt.Sprint(i+1), "e", Published{Seq: uint64(i + 1), Epoch: "e"})
	}
	return steps
}

// Case names, for adapters that must declare a difference.
const (
	CaseNewID           = "a new id takes the next seq and names the epoch"
	CaseRepeatedID      = "a repeated id answers its first seq and is not appended"
	CaseOtherSender     = "the same id from another sender is a new message"
	CaseFetchRanges     = "a fetch returns the held seqs in its window, with head and first"
	CaseTrimming        = "history keeps the last HistoryLenMax messages; first says where it starts"
	CaseFetchNamesEpoch = "a fetch of an unused room names its epoch, and a publish keeps it"
	CaseEpochKept       = "a room's epoch stays while its data lives"
	CaseDataLoss        = "after data loss a room restarts at seq 1 in a new epoch, and ids are forgotten"
	CaseDedupeTTL       = "a send's id is remembered for DedupeTTL, then a retry is a new message"
	CaseProvisional     = "an epoch only fetches named expires once the room goes unread"
	CaseIDConflict      = "a repeated id with another body is a conflict, applied nowhere"
)

type contractCase struct {
	name  string
	steps []step
}

func cases() []contractCase {
	ttl := Config.DedupeTTL
	return []contractCase{
		{CaseNewID, []step{
			publish("r", "u", "1", "e1", Published{Seq: 1, Epoch: "e1"}),
			publish("r", "u", "2", "e2", Published{Seq: 2, Epoch: "e1"}),
			fetch("r", 0, 10, "e3", Fetched{Epoch: "e1", Head: 2, First: 1, Seqs: []uint64{1, 2}, IDs: []string{"1", "2"}}),
		}},
		{CaseRepeatedID, []step{
			publish("r", "u", "x", "e1", Published{Seq: 1, Epoch: "e1"}),
			publish("r", "u", "x", "e2", Published{Seq: 1, Epoch: "e1", Duplicate: true}),
			fetch("r", 0, 10, "e1", Fetched{Epoch: "e1", Head: 1, First: 1, Seqs: []uint64{1}, IDs: []string{"x"}}),
		}},
		{CaseIDConflict, []step{
			{send: &Send{Room: "r", From: "u", ID: "x", EpochCandidate: "e", Body: "first"}, want: Published{Seq: 1, Epoch: "e"}},
			{send: &Send{Room: "r", From: "u", ID: "x", EpochCandidate: "e", Body: "second"}, want: Published{Seq: 1, Epoch: "e", Conflict: true}},
			{send: &Send{Room: "r", From: "u", ID: "x", EpochCandidate: "e", Body: "first"}, want: Published{Seq: 1, Epoch: "e", Duplicate: true}},
			fetch("r", 0, 10, "e", Fetched{Epoch: "e", Head: 1, First: 1, Seqs: []uint64{1}, IDs: []string{"x"}}),
		}},
		{CaseOtherSender, []step{
			publish("r", "u", "x", "e", Published{Seq: 1, Epoch: "e"}),
			publish("r", "v", "x", "e", Published{Seq: 2, Epoch: "e"}),
		}},
		{CaseFetchRanges, append(fill(3),
			fetch("r", 0, 2, "e", Fetched{Epoch: "e", Head: 3, First: 1, Seqs: []uint64{1, 2}, IDs: []string{"1", "2"}}),
			fetch("r", 1, 1, "e", Fetched{Epoch: "e", Head: 3, First: 1, Seqs: []uint64{2}, IDs: []string{"2"}}),
			fetch("r", 2, 10, "e", Fetched{Epoch: "e", Head: 3, First: 1, Seqs: []uint64{3}, IDs: []string{"3"}}),
			fetch("r", 3, 10, "e", Fetched{Epoch: "e", Head: 3, First: 1}),
		)},
		{CaseTrimming, append(fill(5),
			fetch("r", 0, 10, "e", Fetched{Epoch: "e", Head: 5, First: 3, Seqs: []uint64{3, 4, 5}, IDs: []string{"3", "4", "5"}}),
			fetch("r", 3, 1, "e", Fetched{Epoch: "e", Head: 5, First: 3, Seqs: []uint64{4}, IDs: []string{"4"}}),
			// A window wholly below first holds nothing (the node then
			// resets to first and fetches from there).
			fetch("r", 0, 2, "e", Fetched{Epoch: "e", Head: 5, First: 3}),
		)},
		{CaseFetchNamesEpoch, []step{
			fetch("b", 0, 10, "eb", Fetched{Epoch: "eb", Head: 0, First: 1}),
			publish("b", "u", "1", "other", Published{Seq: 1, Epoch: "eb"}),
			fetch("b", 0, 10, "x", Fetched{Epoch: "eb", Head: 1, First: 1, Seqs: []uint64{1}, IDs: []string{"1"}}),
		}},
		{CaseEpochKept, []step{
			publish("r", "u", "1", "e1", Published{Seq: 1, Epoch: "e1"}),
			{advance: 2 * ttl},
			publish("r", "u", "2", "e2", Published{Seq: 2, Epoch: "e1"}),
			fetch("r", 0, 10, "e3", Fetched{Epoch: "e1", Head: 2, First: 1, Seqs: []uint64{1, 2}, IDs: []string{"1", "2"}}),
		}},
		{CaseDataLoss, []step{
			publish("r", "u", "1", "e1", Published{Seq: 1, Epoch: "e1"}),
			publish("r", "u", "2", "e1", Published{Seq: 2, Epoch: "e1"}),
			{flush: true},
			publish("r", "u", "1", "e2", Published{Seq: 1, Epoch: "e2"}),
			fetch("r", 0, 10, "e3", Fetched{Epoch: "e2", Head: 1, First: 1, Seqs: []uint64{1}, IDs: []string{"1"}}),
		}},
		{CaseDedupeTTL, []step{
			publish("r", "u", "x", "e", Published{Seq: 1, Epoch: "e"}),
			{advance: ttl - time.Second},
			publish("r", "u", "x", "e", Published{Seq: 1, Epoch: "e", Duplicate: true}),
			{advance: 2 * time.Second},
			publish("r", "u", "x", "e", Published{Seq: 2, Epoch: "e"}),
		}},
		{CaseProvisional, []step{
			fetch("b", 0, 10, "eb", Fetched{Epoch: "eb", Head: 0, First: 1}),
			{advance: Config.ProvisionalEpochTTL - time.Second},
			// Read again: it lasts another ProvisionalEpochTTL.
			fetch("b", 0, 10, "x", Fetched{Epoch: "eb", Head: 0, First: 1}),
			{advance: Config.ProvisionalEpochTTL - time.Second},
			fetch("b", 0, 10, "x", Fetched{Epoch: "eb", Head: 0, First: 1}),
			{advance: Config.ProvisionalEpochTTL + time.Second},
			fetch("b", 0, 10, "eb2", Fetched{Epoch: "eb2", Head: 0, First: 1}),
			// A publish keeps it for good.
			publish("b", "u", "1", "eb3", Published{Seq: 1, Epoch: "eb2"}),
			{advance: 2 * Config.ProvisionalEpochTTL},
			fetch("b", 0, 10, "eb4", Fetched{Epoch: "eb2", Head: 1, First: 1, Seqs: []uint64{1}, IDs: []string{"1"}}),
		}},
	}
}

// Run replays the contract against stores made by open, one fresh store
// per case. differences names the cases this store must fail, with why;
// they are skipped saying so, and a named case that does not exist fails
// the test (a stale excuse).
func Run(t *testing.T, open func(t *testing.T) Store, differences map[string]string) {
	all := cases()
	for name := range differences { // map order: each name only looked up
		if !slices.ContainsFunc(all, func(c contractCase) bool { return c.name == name }) {
			t.Errorf("difference declared for %q, which is not a case of the contract", name)
		}
	}
	for _, c := range all {
		t.Run(c.name, func(t *testing.T) {
			if why, ok := differences[c.name]; ok {
				t.Skipf("this store differs here: %s", why)
			}
			store := open(t)
			for i, s := range c.steps {
				switch {
				case s.send != nil:
					if got := store.Publish(t, *s.send); got != s.want {
						t.Fatalf("step %d: publish %+v answered %+v; want %+v", i+1, *s.send, got, s.want)
					}
				case s.fetch != nil:
					got := store.Fetch(t, *s.fetch)
					if got.Epoch != s.fetched.Epoch || got.Head != s.fetched.Head || got.First != s.fetched.First ||
						!slices.Equal(got.Seqs, s.fetched.Seqs) || !slices.Equal(got.IDs, s.fetched.IDs) {
						t.Fatalf("step %d: fetch %+v answered %+v; want %+v", i+1, *s.fetch, got, s.fetched)
					}
				case s.flush:
					store.Flush(t)
				default:
					store.Advance(t, s.advance)
				}
			}
		})
	}
}
