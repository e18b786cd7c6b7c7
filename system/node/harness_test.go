package node

import (
	"fmt"
	"testing"

	"chatlab/system/protocol"
)

// store is the test's broker: the recover-mode semantics of io.go in a few
// lines, so that node tests can answer requests step by step.
type store struct {
	epoch  map[string]string
	seq    map[string]uint64
	log    map[string][]protocol.Msg
	dedupe map[string]uint64
	bodies map[string]string // the body of each dedupe entry
	first  map[string]uint64 // lowest seq still held (trimmed history)
}

func newStore() *store {
	return &store{epoch: map[string]string{}, seq: map[string]uint64{}, log: map[string][]protocol.Msg{},
		dedupe: map[string]uint64{}, bodies: map[string]string{}, first: map[string]uint64{}}
}

func (s *store) setEpoch(room, candidate string) string {
	if s.epoch[room] == "" {
		s.epoch[room] = candidate
	}
	return s.epoch[room]
}

func (s *store) publish(req PublishRequest) (PublishReply, protocol.Msg) {
	epoch := s.setEpoch(req.Room, req.EpochCandidate)
	key := req.Room + "/" + req.From + "/" + req.ID
	if seq, ok := s.dedupe[key]; ok {
		if s.bodies[key] != req.Body {
			return PublishReply{Seq: seq, Epoch: epoch, Conflict: true}, protocol.Msg{}
		}
		return PublishReply{Seq: seq, Epoch: epoch, Duplicate: true}, protocol.Msg{}
	}
	s.seq[req.Room]++
	seq := s.seq[req.Room]
	s.dedupe[key] = seq
	s.bodies[key] = req.Body
	msg := protocol.Msg{Type: protocol.TypeMsg, Room: req.Room, Seq: seq, ID: req.ID, From: req.From, Body: req.Body, TS: req.TS, Epoch: epoch}
	s.log[req.Room] = append(s.log[req.Room], msg)
	return PublishReply{Seq: seq, Epoch: epoch}, msg
}

func (s *store) fetch(req FetchRequest) FetchReply {
	reply := FetchReply{Epoch: s.setEpoch(req.Room, req.EpochCandidate), Head: s.seq[req.Room], First: s.seq[req.Room] + 1}
	for _, msg := range s.log[req.Room] {
		if msg.Seq < s.first[req.Room] {
			continue
		}
		if reply.First > msg.Seq {
			reply.First = msg.Seq
		}
		// The broker's window is (AfterSeq, AfterSeq+Limit], whatever the
		// oldest seq still held: a fetch far below it gets no messages.
		if msg.Seq > req.AfterSeq && msg.Seq <= req.AfterSeq+uint64(req.Limit) {
			reply.Messages = append(reply.Messages, msg)
		}
	}
	return reply
}

// harness drives one node and records what it asked for.
type harness struct {
	t          *testing.T
	n          *Node
	store      *store
	frames     map[ConnID][]protocol.Outbound
	closes     map[ConnID]int
	slow       map[ConnID]bool // connections whose frames are never flushed
	publishes  []PublishRequest
	fetches    []FetchRequest
	subscribed map[string]bool
	published  []protocol.Msg // what the broker published, for other nodes
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	if cfg.ID == "" {
		cfg.ID = "n1"
	}
	counter := uint64(0)
	cfg.Random = func() uint64 { counter++; return counter * 7919 }
	h := &harness{t: t, n: New(cfg), store: newStore(), frames: map[ConnID][]protocol.Outbound{},
		closes: map[ConnID]int{}, slow: map[ConnID]bool{}, subscribed: map[string]bool{}}
	h.n.BrokerUp()
	h.collect()
	return h
}

// collect takes the node's Ready: frames are decoded per connection and
// flushed unless the connection is slow; requests wait for answer calls.
func (h *harness) collect() {
	h.t.Helper()
	ready := h.n.Ready()
	flushed := map[ConnID]int{}
	for _, f := range ready.Frames {
		out, err := protocol.DecodeOutbound(f.Data)
		if err != nil {
			h.t.Fatalf("node wrote an undecodable frame %s: %v", f.Data, err)
		}
		h.frames[f.Conn] = append(h.frames[f.Conn], out)
		if !h.slow[f.Conn] {
			flushed[f.Conn]++
		}
	}
	for _, c := range ready.Closes {
		h.closes[c.Conn] = c.Code
	}
	h.publishes = append(h.publishes, ready.Publishes...)
	h.fetches = append(h.fetches, ready.Fetches...)
	for _, room := range ready.Subscribes {
		h.subscribed[room] = true
	}
	for _, room := range ready.Unsubscribes {
		delete(h.subscribed, room)
	}
	h.n.Advance(ready)
	for conn, count := range flushed {
		h.n.Flushed(conn, count)
	}
}

// answer replies to every outstanding broker request from the store, in
// order, until the node asks for nothing more.
func (h *harness) answer() {
	h.t.Helper()
	for i := 0; i < 100 && (len(h.publishes) > 0 || len(h.fetches) > 0); i++ {
		publishes, fetches := h.publishes, h.fetches
		h.publishes, h.fetches = nil, nil
		for _, req := range publishes {
			reply, msg := h.store.publish(req)
			if !reply.Duplicate {
				h.published = append(h.published, msg)
			}
			h.n.Published(req.Request, reply, nil)
			h.collect()
		}
		for _, req := range fetches {
			h.n.Fetched(req.Request, h.store.fetch(req), nil)
			h.collect()
		}
	}
}

func (h *harness) open(conn ConnID, user string) {
	h.n.Open(conn, user)
	h.collect()
}

// member opens conn for user and joins rooms, forgetting the frames that
// brought.
func (h *harness) member(conn ConnID, user string, rooms ...string) {
	h.open(conn, user)
	for _, room := range rooms {
		h.frame(conn, `{"type":"join","room":%q}`, room)
	}
	h.answer()
	h.take(conn)
}

// failPublish answers the oldest outstanding publish with errTimeout, as a
// broker call that timed out, and returns it.
func (h *harness) failPublish() PublishRequest {
	h.t.Helper()
	req := h.publishes[0]
	h.publishes = h.publishes[1:]
	h.n.Published(req.Request, PublishReply{}, errTimeout)
	h.collect()
	return req
}

func (h *harness) frame(conn ConnID, format string, args ...any) {
	h.n.Receive(conn, []byte(fmt.Sprintf(format, args...)))
	h.collect()
}

// take returns and forgets the frames a connection got.
func (h *harness) take(conn ConnID) []protocol.Outbound {
	frames := h.frames[conn]
	delete(h.frames, conn)
	return frames
}

// seqs returns the seqs of the msg frames a connection got, forgetting them.
func (h *harness) seqs(conn ConnID) []uint64 {
	var seqs []uint64
	for _, f := range h.take(conn) {
		if f.Type == protocol.TypeMsg {
			seqs = append(seqs, f.Seq)
		}
	}
	return seqs
}

// types returns the frame types a connection got, forgetting the frames.
func (h *harness) types(conn ConnID) []string {
	var types []string
	for _, f := range h.take(conn) {
		types = append(types, f.Type)
	}
	return types
}

// seed appends count messages to a room's history in the store, as if
// other nodes had published them.
func (h *harness) seed(room string, count int) {
	for i := 0; i < count; i++ {
		h.store.publish(PublishRequest{Room: room, ID: fmt.Sprintf("seed-%d", h.store.seq[room]+1), From: "other", Body: "b", EpochCandidate: "e0"})
	}
}

func (h *harness) storeMsg(room string, seq uint64) protocol.Msg {
	for _, msg := range h.store.log[room] {
		if msg.Seq == seq {
			return msg
		}
	}
	h.t.Fatalf("store has no seq %d in %s", seq, room)
	return protocol.Msg{}
}
