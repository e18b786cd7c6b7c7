package chaos

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
// way: it is reported as unknown and does not fail the run.
func checkLinearizable(ix *historyIndex, timeout time.Duration) (Check, porcupine.LinearizationInfo) {
	v := newVerdict(CheckLinearizable)
	if ix.pubsub {
		return v.done("not applicable: pubsub delivery has no seqs, so no log to linearize"), porcupine.LinearizationInfo{}
	}
	if timeout <= 0 {
		timeout = linearizabilityTimeoutDefault
	}
	ops := logOperations(ix)
	result, info := porcupine.CheckOperationsVerbose(logModel, ops, timeout)
	partitions := partitionLogs(ops)
	switch result {
	case porcupine.Unknown:
		return v.done(fmt.Sprintf("unknown: timed out after %s (%d logs, %d operations)", timeout, len(partitions), len(ops))), info
	case porcupine.Illegal:
		reportIllegalLogs(ix, partitions, info, v)
	}
	return v.done(fmt.Sprintf("%d logs (room, epoch), %d operations: %d not linearizable", len(partitions), len(ops), v.check.Violations)), info
}

// LinearizabilityVisualization checks a history's logs and writes
// porcupine's interactive page of the result to path. Annotations with a
// ClientId refer to clients by their index in HistoryClients(h). A pubsub
// history has no logs: that is an error.
func LinearizabilityVisualization(h History, path string, annotations []porcupine.Annotation) error {
	ix := indexHistory(h, "")
	if ix.pubsub {
		return errors.New("chaos: a pubsub history has no seqs, so no log to visualize")
	}
	_, info := porcupine.CheckOperationsVerbose(logModel, logOperations(ix), linearizabilityTimeoutDefault)
	info.AddAnnotations(annotations)
	if err := porcupine.VisualizePath(logModel, info, path); err != nil {
		return fmt.Errorf("chaos: write linearizability visualization: %w", err)
	}
	return nil
}

// HistoryClients lists a history's clients in name order: porcupine's
// ClientId of a client is its index here.
func HistoryClients(h History) []string {
	return indexHistory(h, "").clients
}

// logOperations turns a history into the model's operations: one send per
// id and one read per distinct (seq, id) delivered, at its earliest.
func logOperations(ix *historyIndex) []porcupine.Operation {
	var ops []porcupine.Operation
	for _, name := range ix.roomNames {
		room := ix.rooms[name]
		for _, m := range room.messages {
			ops = append(ops, sendOperations(ix, room, m)...)
		}
		ops = append(ops, readOperations(ix, room)...)
	}
	return ops
}

// sendOperations models one send. An acked send whose epoch is known has
// its seq as output in that epoch's log. Any other send (never acked, or
// acked in an epoch the history cannot tell) may have been applied in any
// of the room's logs: an unknown output in each, which never fails a log.
func sendOperations(ix *historyIndex, room *roomIndex, m *message) []porcupine.Operation {
	if !m.sent {
		return nil // a delivery of an id nobody sent fails its read
	}
	clientID := ix.clientIDs[m.sender]
	if m.placed && m.ackSeq > 0 {
		return []porcupine.Operation{{ClientId: clientID, Call: m.sentAtMs, Return: max(m.ackAtMs, m.sentAtMs),
			Input:    logInput{Key: logKey{room.name, m.epoch}, Op: opSend, ID: m.id},
			Output:   logOutput{Seq: m.ackSeq},
			Metadata: fmt.Sprintf("%s sent at %d ms, acked at %d ms", m.sender, m.sentAtMs, m.ackAtMs)}}
	}
	ops := make([]porcupine.Operation, 0, len(room.epochs))
	for _, epoch := range room.epochs {
		ops = append(ops, porcupine.Operation{ClientId: clientID, Call: m.sentAtMs, Return: max(ix.endAtMs, m.sentAtMs),
			Input:    logInput{Key: logKey{room.name, epoch}, Op: opSend, ID: m.id},
			Output:   logOutput{Unknown: true},
			Metadata: fmt.Sprintf("%s sent at %d ms, outcome unknown", m.sender, m.sentAtMs)})
	}
	return ops
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
func reportIllegalLogs(ix *historyIndex, partitions [][]porcupine.Operation, info porcupine.LinearizationInfo, v *verdict) {
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
		first := left[0]
		seq, id := operationSubject(first)
		v.add(Violation{Kind: "not_linearizable", Client: ix.clients[first.ClientId], Room: key.Room, Epoch: key.Epoch,
			Seq: seq, ID: id, AtMs: first.Call,
			Message: fmt.Sprintf("room %s epoch %q: %d of %d operations linearize; these cannot follow: %s",
				key.Room, key.Epoch, longest, len(ops), strings.Join(names, "; "))})
	}
}

// operationSubject is the seq and id an operation is about.
func operationSubject(op porcupine.Operation) (uint64, string) {
	in, out := op.Input.(logInput), op.Output.(logOutput)
	if in.Op == opRead {
		return in.Seq, out.ID
	}
	return out.Seq, in.ID
}
