package check

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strings"

	"github.com/anishathalye/porcupine"
)

// The porcupine model of a room's log. Each (room, epoch) is one append-only
// log: seqs are positions, assigned 1, 2, 3, … by one atomic script, and an
// epoch change (Redis lost its data) starts a new log at seq 1. The history
// is partitioned by (room, epoch), so each partition is a single log.
//
// Two kinds of operation:
//   - send(id) -> seq: the send with that id appended it at seq. Call is the
//     first sent event. An acked send returns at its acked event with the
//     acked seq. A send never acked may or may not have been applied: if
//     somebody got it, the log shows where (that seq), and it returns at the
//     end of the history, so it may have been applied at any time before the
//     read that saw it.
//   - read(seq) -> id: a client's delivery of seq with that id. Call and
//     return are the delivered event's time. The append must have happened
//     before the message was published, and the client stamps a delivery
//     with the tick taken just before it handled the frame, on the run's one
//     clock; so the log held id at seq by then. A wider interval (from the
//     sender's sent time) would be sound too but could not catch a node that
//     delivers a seq before anybody sent it. Positions never change once
//     written, so of many reads of the same (seq, id) only the earliest
//     constrains anything: the checker keeps that one.
//
// A send of unknown outcome that nobody saw leaves no trace but the seq it
// may have taken: a seq nobody got and no ack names (a hole). Modelling such
// sends as operations that may append anywhere makes the search explode
// (porcupine tries them in every order before every ack); instead a send may
// skip the holes directly below its seq, and the checker counts that a room
// has no more holes than sends that could have filled them. What is lost is
// only when the filler was called: a hole filled before any send of unknown
// outcome was made goes unnoticed.

// logKey names one partition: a room's log in one epoch.
type logKey struct {
	Room  string
	Epoch string
}

// logOp says what an operation does to the log.
type logOp int

const (
	opSend logOp = iota
	opRead
)

// logInput is an operation's input: a send of ID, or a read of Seq.
type logInput struct {
	Key logKey
	Op  logOp
	ID  string // send
	// Skip is how many seqs directly below the send's are holes: taken, if
	// at all, by sends the history cannot place.
	Skip uint64
	Seq  uint64 // read
}

// logOutput is an operation's output: the seq a send took, or the ID a
// read found.
type logOutput struct {
	Seq uint64
	ID  string
}

// holeID marks a seq in the log taken by a send the history cannot place.
const holeID = ""

// logState is an immutable, persistent log: each append makes a new head
// that shares its predecessors, so Step never copies or mutates. A nil
// *logState is the empty log.
type logState struct {
	prev   *logState
	id     string
	length uint64
	// hash covers every id in order, so that states that differ almost
	// never share a hash and Equal rarely has to walk.
	hash uint64
}

func (s *logState) len() uint64 {
	if s == nil {
		return 0
	}
	return s.length
}

func (s *logState) append(id string) *logState {
	h := fnv.New64a()
	h.Write([]byte(id))
	var prevHash uint64
	if s != nil {
		prevHash = s.hash
	}
	return &logState{prev: s, id: id, length: s.len() + 1, hash: prevHash*1099511628211 ^ h.Sum64()}
}

// at is the id at seq, walking back from the head: reads mostly look at
// recent positions.
func (s *logState) at(seq uint64) (string, bool) {
	if seq == 0 || seq > s.len() {
		return "", false
	}
	for s.length > seq {
		s = s.prev
	}
	return s.id, true
}

// tail lists the last n ids, oldest first.
func (s *logState) tail(n int) []string {
	var ids []string
	for ; s != nil && len(ids) < n; s = s.prev {
		ids = append(ids, s.id)
	}
	for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
		ids[i], ids[j] = ids[j], ids[i]
	}
	return ids
}

func stepLog(state, input, output any) (bool, any) {
	log := state.(*logState)
	in, out := input.(logInput), output.(logOutput)
	switch in.Op {
	case opSend:
		next := log.len() + 1
		if out.Seq < next || out.Seq-next > in.Skip {
			return false, log
		}
		for log.len()+1 < out.Seq {
			log = log.append(holeID)
		}
		return true, log.append(in.ID)
	case opRead:
		id, ok := log.at(in.Seq)
		return ok && id == out.ID, log
	}
	panic(fmt.Sprintf("chaos: unknown log operation %d", in.Op))
}

func equalLogs(a, b any) bool {
	x, y := a.(*logState), b.(*logState)
	for x != y {
		if x == nil || y == nil || x.length != y.length || x.hash != y.hash || x.id != y.id {
			return false
		}
		x, y = x.prev, y.prev
	}
	return true
}

func hashLog(state any) uint64 {
	if s := state.(*logState); s != nil {
		return s.hash
	}
	return 0
}

// partitionLogs splits operations by (room, epoch), in key order so that
// partition i of a LinearizationInfo is always the same log.
func partitionLogs(ops []porcupine.Operation) [][]porcupine.Operation {
	byKey := map[logKey][]porcupine.Operation{}
	for _, op := range ops {
		key := op.Input.(logInput).Key
		byKey[key] = append(byKey[key], op)
	}
	keys := make([]logKey, 0, len(byKey))
	for key := range byKey { // map order: sorted below
		keys = append(keys, key)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Room != keys[j].Room {
			return keys[i].Room < keys[j].Room
		}
		return keys[i].Epoch < keys[j].Epoch
	})
	partitions := make([][]porcupine.Operation, len(keys))
	for i, key := range keys {
		partitions[i] = byKey[key]
	}
	return partitions
}

// stateTailLen is how many of the newest ids a state's description shows.
const stateTailLen = 4

func describeLogOperation(input, output any) string {
	in, out := input.(logInput), output.(logOutput)
	if in.Op == opRead {
		return fmt.Sprintf("read(%d) -> %s", in.Seq, out.ID)
	}
	if in.Skip > 0 {
		return fmt.Sprintf("send(%s) -> %d (may skip %d)", in.ID, out.Seq, in.Skip)
	}
	return fmt.Sprintf("send(%s) -> %d", in.ID, out.Seq)
}

func describeLogState(state any) string {
	log := state.(*logState)
	ids := log.tail(stateTailLen)
	for i, id := range ids {
		if id == holeID {
			ids[i] = "?"
		}
	}
	if uint64(len(ids)) < log.len() {
		ids = append([]string{"…"}, ids...)
	}
	return fmt.Sprintf("%d: [%s]", log.len(), strings.Join(ids, " "))
}

// logModel is the per-room log model.
var logModel = porcupine.Model{
	Partition:         partitionLogs,
	Init:              func() any { return (*logState)(nil) },
	Step:              stepLog,
	Equal:             equalLogs,
	Hash:              hashLog,
	DescribeOperation: describeLogOperation,
	DescribeState:     describeLogState,
	DescribeOperationMetadata: func(metadata any) string {
		if metadata == nil {
			return ""
		}
		return metadata.(string)
	},
}
