package check

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"chatlab/system/client"
)

// linearizableExamplesPerLog bounds the operations named per failing log.
const linearizableExamplesPerLog = 3

// checkLinearizable checks each (room, epoch) log with porcupine against
// the model in model.go. Each log that cannot be linearized is one
// violation, named by the operations left out of its longest
// linearization. A search cut short by the timeout proves nothing either
// way: it is reported as unknown and does not fail the run. The search's
// result is returned too (nil in pubsub mode), for porcupine's page.
func checkLinearizable(ix *historyIndex, timeout time.Duration) (Check, *porcupine.LinearizationInfo) {
	v := newVerdict(CheckLinearizable)
	if ix.pubsub {
		return v.done("not applicable: pubsub delivery has no seqs, so no log to linearize"), nil
	}
	if timeout <= 0 {
		timeout = linearizabilityTimeoutDefault
	}
	ops, holes := logOperations(ix)
	unsent := reportUnsentSeqs(holes, v)
	result, info := porcupine.CheckOperationsVerbose(logModel, ops, timeout)
	partitions := partitionLogs(ops)
	detail := fmt.Sprintf("%d logs (room, epoch), %d operations", len(partitions), len(ops))
	switch result {
	case porcupine.Unknown:
		detail = fmt.Sprintf("unknown: timed out after %s (%s)", timeout, detail)
	case porcupine.Illegal:
		detail += fmt.Sprintf(": %d not linearizable", reportIllegalLogs(ix, partitions, info, v))
	default:
		detail += ": linearizable"
	}
	if unsent > 0 {
		detail += fmt.Sprintf("; %d rooms have seqs no send explains", unsent)
	}
	return v.done(detail), &info
}

// LinearizabilityVisualization checks a history's logs and writes
// porcupine's interactive page of the result to path. Annotations with a
// ClientId refer to clients by their index in HistoryClients(h). A pubsub
// history has no logs: that is an error.
func LinearizabilityVisualization(h History, path string, annotations []porcupine.Annotation) error {
	_, info := checkLinearizable(indexHistory(h, ""), linearizabilityTimeoutDefault)
	return WriteVisualization(info, path, annotations)
}

// WriteVisualization writes porcupine's page for a search already made.
func WriteVisualization(info *porcupine.LinearizationInfo, path string, annotations []porcupine.Annotation) error {
	if info == nil {
		return errors.New("chaos: a pubsub history has no seqs, so no log to visualize")
	}
	info.AddAnnotations(annotations)
	if err := porcupine.VisualizePath(logModel, *info, path); err != nil {
		return fmt.Errorf("chaos: write linearizability visualization: %w", err)
	}
	return nil
}

// roomHoles counts a room's seqs that no operation claims and the sends
// that could have taken them.
type roomHoles struct {
	room           string
	holes, fillers uint64
}

// logOperations turns a history into the model's operations, room by room:
// one read per distinct (epoch, seq, id) delivered, at its earliest, and one
// send per id and epoch the history places it in.
func logOperations(ix *historyIndex) ([]porcupine.Operation, []roomHoles) {
	var ops []porcupine.Operation
	var holes []roomHoles
	for _, name := range ix.roomNames {
		room := ix.rooms[name]
		reads := readOperations(ix, room)
		sends, fillers := sendOperations(ix, room, reads)
		count := skipHoles(room, sends, reads)
		ops = append(append(ops, sends...), reads...)
		holes = append(holes, roomHoles{room: name, holes: count, fillers: fillers})
	}
	return ops, holes
}

// sendOperations places each send of a room. An acked send whose epoch is
// known took its acked seq. Any other send took, in each epoch somebody got
// it in, the seq they got it as (a second seq fails that read: one send,
// one append), and returns at the end of the history. A send nobody got and
// no ack places is a filler: it may have taken a hole, or nothing.
func sendOperations(ix *historyIndex, room *roomIndex, reads []porcupine.Operation) ([]porcupine.Operation, uint64) {
	readAt := map[string][]logPosition{}
	for _, op := range reads {
		in, out := op.Input.(logInput), op.Output.(logOutput)
		readAt[out.ID] = append(readAt[out.ID], logPosition{in.Key.Epoch, in.Seq})
	}
	var ops []porcupine.Operation
	var fillers uint64
	for _, m := range room.messages {
		if !m.sent {
			continue // a delivery of an id nobody sent fails its read
		}
		send := porcupine.Operation{ClientId: ix.clientIDs[m.sender], Call: m.sentAtMs}
		if m.placed && m.ackSeq > 0 {
			send.Return = max(m.ackAtMs, m.sentAtMs)
			send.Input = logInput{Key: logKey{room.name, m.epoch}, Op: opSend, ID: m.id}
			send.Output = logOutput{Seq: m.ackSeq}
			send.Metadata = fmt.Sprintf("%s sent at %d ms, acked at %d ms", m.sender, m.sentAtMs, m.ackAtMs)
			ops = append(ops, send)
			continue
		}
		positions := readAt[m.id]
		if len(positions) == 0 {
			fillers++
			continue
		}
		placed := map[string]bool{}
		for _, p := range positions {
			if placed[p.epoch] {
				continue
			}
			placed[p.epoch] = true
			send.Return = max(ix.endAtMs, m.sentAtMs)
			send.Input = logInput{Key: logKey{room.name, p.epoch}, Op: opSend, ID: m.id}
			send.Output = logOutput{Seq: lowestSeqIn(positions, p.epoch)}
			send.Metadata = fmt.Sprintf("%s sent at %d ms, outcome unknown to it", m.sender, m.sentAtMs)
			ops = append(ops, send)
		}
	}
	return ops, fillers
}

func lowestSeqIn(positions []logPosition, epoch string) uint64 {
	lowest := uint64(0)
	for _, p := range positions {
		if p.epoch == epoch && (lowest == 0 || p.seq < lowest) {
			lowest = p.seq
		}
	}
	return lowest
}

// skipHoles sets each send's Skip to the holes directly below its seq and
// returns the room's holes: seqs up to the highest anybody saw or was acked
// that no operation claims.
func skipHoles(room *roomIndex, sends, reads []porcupine.Operation) (holes uint64) {
	claimed := map[string][]uint64{}
	seen := map[logPosition]bool{}
	claim := func(epoch string, seq uint64) {
		if !seen[logPosition{epoch, seq}] {
			seen[logPosition{epoch, seq}] = true
			claimed[epoch] = append(claimed[epoch], seq)
		}
	}
	for _, op := range sends {
		claim(op.Input.(logInput).Key.Epoch, op.Output.(logOutput).Seq)
	}
	for _, op := range reads {
		in := op.Input.(logInput)
		claim(in.Key.Epoch, in.Seq)
	}
	for _, epoch := range room.epochs {
		seqs := claimed[epoch]
		sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
		if l := room.logs[epoch]; l != nil {
			holes += l.maxSeq - uint64(len(seqs))
		}
	}
	for i := range sends {
		in, out := sends[i].Input.(logInput), sends[i].Output.(logOutput)
		seqs := claimed[in.Key.Epoch]
		below := sort.Search(len(seqs), func(j int) bool { return seqs[j] >= out.Seq })
		previous := uint64(0)
		if below > 0 {
			previous = seqs[below-1]
		}
		in.Skip = out.Seq - previous - 1
		sends[i].Input = in
	}
	return holes
}

// readOperations models the room's deliveries: per (epoch, seq, id) the
// earliest, since a position once written never changes.
func readOperations(ix *historyIndex, room *roomIndex) []porcupine.Operation {
	type read struct {
		position logPosition
		id       string
	}
	earliest := map[read]porcupine.Operation{}
	var order []read
	for _, s := range room.streams {
		for _, e := range s.events {
			if e.Kind != client.KindDelivered || e.Seq == 0 {
				continue
			}
			key := read{logPosition{room.epochOf(e.Epoch), e.Seq}, e.ID}
			if op, ok := earliest[key]; ok && op.Call <= e.AtMs {
				continue
			}
			if _, ok := earliest[key]; !ok {
				order = append(order, key)
			}
			earliest[key] = porcupine.Operation{ClientId: ix.clientIDs[s.client], Call: e.AtMs, Return: e.AtMs,
				Input:    logInput{Key: logKey{room.name, key.position.epoch}, Op: opRead, Seq: e.Seq},
				Output:   logOutput{ID: e.ID},
				Metadata: fmt.Sprintf("%s got it at %d ms", s.client, e.AtMs)}
		}
	}
	ops := make([]porcupine.Operation, len(order))
	for i, key := range order {
		ops[i] = earliest[key]
	}
	return ops
}

// reportIllegalLogs names each log whose longest linearization leaves
// operations out, by the earliest of them.
func reportIllegalLogs(ix *historyIndex, partitions [][]porcupine.Operation, info porcupine.LinearizationInfo, v *verdict) (illegal int) {
	partials := info.PartialLinearizations()
	for p, ops := range partitions {
		included := make([]bool, len(ops))
		longest := 0
		for _, linearization := range partials[p] {
			if len(linearization) > longest {
				longest = len(linearization)
				clear(included)
				for _, id := range linearization {
					included[id] = true
				}
			}
		}
		if longest == len(ops) {
			continue
		}
		var left []porcupine.Operation
		for i, op := range ops {
			if !included[i] {
				left = append(left, op)
			}
		}
		sort.SliceStable(left, func(i, j int) bool { return left[i].Call < left[j].Call })
		key := ops[0].Input.(logInput).Key
		var names []string
		for _, op := range left[:min(len(left), linearizableExamplesPerLog)] {
			names = append(names, fmt.Sprintf("%s by %s (%s)", describeLogOperation(op.Input, op.Output),
				ix.clients[op.ClientId], op.Metadata))
		}
		illegal++
		first := left[0]
		seq, id := operationSubject(first)
		v.add(Violation{Kind: "not_linearizable", Client: ix.clients[first.ClientId], Room: key.Room, Epoch: key.Epoch,
			Seq: seq, ID: id, AtMs: first.Call,
			Message: fmt.Sprintf("room %s epoch %q: %d of %d operations linearize; these cannot follow: %s",
				key.Room, key.Epoch, longest, len(ops), strings.Join(names, "; "))})
	}
	return illegal
}

// reportUnsentSeqs flags rooms with more holes than sends that could have
// taken them: seqs that no send in the history can explain.
func reportUnsentSeqs(holes []roomHoles, v *verdict) (rooms int) {
	for _, h := range holes {
		if h.holes > h.fillers {
			rooms++
			v.add(Violation{Kind: "unsent_seqs", Room: h.room,
				Message: fmt.Sprintf("room %s: %d seqs nobody got and no ack names, but only %d sends of unknown outcome could have taken them",
					h.room, h.holes, h.fillers)})
		}
	}
	return rooms
}

// operationSubject is the seq and id an operation is about.
func operationSubject(op porcupine.Operation) (uint64, string) {
	in, out := op.Input.(logInput), op.Output.(logOutput)
	if in.Op == opRead {
		return in.Seq, out.ID
	}
	return out.Seq, in.ID
}
