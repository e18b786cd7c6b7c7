package check

import (
	"strconv"
	"strings"
	"testing"

	"github.com/anishathalye/porcupine"
)

var roomR = logKey{Room: "r", Epoch: "e1"}

func sendOf(id string) logInput    { return logInput{Key: roomR, Op: opSend, ID: id} }
func readOf(seq uint64) logInput   { return logInput{Key: roomR, Op: opRead, Seq: seq} }
func ackedAs(seq uint64) logOutput { return logOutput{Seq: seq} }

func mustStep(t *testing.T, state any, in logInput, out logOutput) any {
	t.Helper()
	ok, next := stepLog(state, in, out)
	if !ok {
		t.Fatalf("%s refused in state %s", describeLogOperation(in, out), describeLogState(state))
	}
	return next
}

func TestLogModelAppendsAtTheAckedSeq(t *testing.T) {
	empty := logModel.Init()
	one := mustStep(t, empty, sendOf("a-1"), ackedAs(1))
	two := mustStep(t, one, sendOf("b-1"), ackedAs(2))
	if ok, _ := stepLog(two, sendOf("c-1"), ackedAs(2)); ok {
		t.Fatal("a send acked as a seq already taken was accepted")
	}
	if ok, _ := stepLog(two, sendOf("c-1"), ackedAs(4)); ok {
		t.Fatal("a send acked past the next seq was accepted")
	}
	three := mustStep(t, two, sendOf("c-1"), ackedAs(3))
	if got := describeLogState(three); got != "3: [a-1 b-1 c-1]" {
		t.Fatalf("state %q", got)
	}
	// Steps never change the state they start from.
	if got := describeLogState(one); got != "1: [a-1]" {
		t.Fatalf("state after later steps %q", got)
	}
}

func TestLogModelSkipsOnlyTheHolesBelowASend(t *testing.T) {
	one := mustStep(t, logModel.Init(), sendOf("a-1"), ackedAs(1))
	skipping := sendOf("b-1")
	skipping.Skip = 2
	if ok, _ := stepLog(one, skipping, ackedAs(5)); ok {
		t.Fatal("a send skipped more holes than it may")
	}
	four := mustStep(t, one, skipping, ackedAs(4))
	if got := describeLogState(four); got != "4: [a-1 ? ? b-1]" {
		t.Fatalf("state %q", got)
	}
	// The holes may have been filled already, or partly.
	mustStep(t, mustStep(t, one, sendOf("x-1"), ackedAs(2)), skipping, ackedAs(4))
	if ok, _ := stepLog(four, readOf(2), logOutput{ID: "x-1"}); ok {
		t.Fatal("a read found an id in a hole")
	}
}

func TestLogModelReadsPositions(t *testing.T) {
	state := logModel.Init()
	for i, id := range []string{"a-1", "b-1", "c-1", "a-2", "b-2"} {
		state = mustStep(t, state, sendOf(id), ackedAs(uint64(i+1)))
	}
	mustStep(t, state, readOf(1), logOutput{ID: "a-1"})
	mustStep(t, state, readOf(5), logOutput{ID: "b-2"})
	for _, bad := range []struct {
		seq uint64
		id  string
	}{{3, "a-1"}, {6, "c-2"}, {0, ""}} {
		if ok, _ := stepLog(state, readOf(bad.seq), logOutput{ID: bad.id}); ok {
			t.Fatalf("read(%d) -> %q accepted", bad.seq, bad.id)
		}
	}
	if got := describeLogState(state); got != "5: [… b-1 c-1 a-2 b-2]" {
		t.Fatalf("state %q", got)
	}
}

func TestLogModelEqualityAndHash(t *testing.T) {
	build := func(ids ...string) any {
		state := logModel.Init()
		for i, id := range ids {
			state = mustStep(t, state, sendOf(id), ackedAs(uint64(i+1)))
		}
		return state
	}
	a, b, c := build("x", "y"), build("x", "y"), build("y", "x")
	if !equalLogs(a, b) || hashLog(a) != hashLog(b) {
		t.Fatal("equal logs built apart compare unequal")
	}
	if equalLogs(a, c) || equalLogs(a, build("x")) || equalLogs(logModel.Init(), a) {
		t.Fatal("different logs compare equal")
	}
	if !equalLogs(logModel.Init(), logModel.Init()) {
		t.Fatal("empty logs compare unequal")
	}
}

func TestLogModelPartitionsByRoomAndEpochInKeyOrder(t *testing.T) {
	op := func(room, epoch, id string) porcupine.Operation {
		return porcupine.Operation{Input: logInput{Key: logKey{room, epoch}, Op: opSend, ID: id}, Output: ackedAs(1)}
	}
	partitions := partitionLogs([]porcupine.Operation{op("s", "f1", "1"), op("r", "e2", "2"), op("r", "e1", "3"), op("r", "e2", "4")})
	var got []string
	for _, p := range partitions {
		key := p[0].Input.(logInput).Key
		got = append(got, key.Room+"/"+key.Epoch+":"+strconv.Itoa(len(p)))
	}
	if want := "r/e1:1 r/e2:2 s/f1:1"; strings.Join(got, " ") != want {
		t.Fatalf("partitions %s, want %s", strings.Join(got, " "), want)
	}
}

func TestLogModelDescribesOperations(t *testing.T) {
	for _, c := range []struct {
		in   logInput
		out  logOutput
		want string
	}{
		{sendOf("a-1"), ackedAs(3), "send(a-1) -> 3"},
		{logInput{Key: roomR, Op: opSend, ID: "a-1", Skip: 2}, ackedAs(3), "send(a-1) -> 3 (may skip 2)"},
		{readOf(3), logOutput{ID: "a-1"}, "read(3) -> a-1"},
	} {
		if got := describeLogOperation(c.in, c.out); got != c.want {
			t.Fatalf("got %q, want %q", got, c.want)
		}
	}
}

func TestLogModelChecksConcurrentSendsAndReads(t *testing.T) {
	// Two overlapping sends may take their seqs in either order; a read
	// inside their intervals pins one.
	ops := []porcupine.Operation{
		{ClientId: 0, Input: sendOf("a-1"), Call: 0, Output: ackedAs(2), Return: 10},
		{ClientId: 1, Input: sendOf("b-1"), Call: 1, Output: ackedAs(1), Return: 9},
		{ClientId: 2, Input: readOf(1), Call: 5, Output: logOutput{ID: "b-1"}, Return: 5},
	}
	if !porcupine.CheckOperations(logModel, ops) {
		t.Fatal("a linearizable history was refused")
	}
	ops[2].Output = logOutput{ID: "a-1"}
	if porcupine.CheckOperations(logModel, ops) {
		t.Fatal("a read of the wrong id was accepted")
	}
}
