package check

import (
	"strings"
	"testing"
)

func readings(atMs int64, counts ...any) []SessionReading {
	var out []SessionReading
	for i := 0; i+1 < len(counts); i += 2 {
		out = append(out, SessionReading{AtMs: atMs, Node: counts[i].(string), Sessions: counts[i+1].(int)})
	}
	return out
}

func TestGhostsPassWhenEveryNodeLetsGo(t *testing.T) {
	l := Leaving{LeftMs: 30000, WithinMs: 3000}
	l.Readings = append(l.Readings, readings(29000, "n1", 20, "n2", 20)...) // before the leaving: not judged
	l.Readings = append(l.Readings, readings(30100, "n1", 4, "n2", 0)...)
	l.Readings = append(l.Readings, readings(30200, "n1", 0, "n2", 0)...)
	c := JudgeGhosts(l)
	expectViolations(t, c, 0, "")
	if !strings.Contains(c.Detail, "n1 in 200 ms, n2 in 100 ms") {
		t.Fatalf("detail %q", c.Detail)
	}
}

// A balancer that keeps the node's side of a link open after its client
// vanished leaves the node a session nobody reads: only the node's
// keepalive ends it, seconds later.
func TestGhostsFlagANodeStillHoldingSessions(t *testing.T) {
	l := Leaving{LeftMs: 30000, WithinMs: 3000}
	for at := int64(30100); at <= 33500; at += 100 {
		l.Readings = append(l.Readings, readings(at, "n1", 0, "n2", 3)...)
	}
	c := JudgeGhosts(l)
	expectViolations(t, c, 1, "ghost_sessions")
	if !strings.Contains(c.Examples[0].Message, "n2 still held 3 sessions 3500 ms") {
		t.Fatalf("%+v", c.Examples[0])
	}
}

func TestGhostsFlagSessionsClearedTooLate(t *testing.T) {
	l := Leaving{LeftMs: 1000, WithinMs: 3000}
	l.Readings = append(l.Readings, readings(1500, "n1", 5)...)
	l.Readings = append(l.Readings, readings(4900, "n1", 0)...)
	c := JudgeGhosts(l)
	expectViolations(t, c, 1, "ghost_sessions")
	if !strings.Contains(c.Examples[0].Message, "up to 5") {
		t.Fatalf("%+v", c.Examples[0])
	}
}

func TestGhostsFlagANodeNotReadLongEnough(t *testing.T) {
	l := Leaving{LeftMs: 1000, WithinMs: 3000, Readings: readings(1500, "n1", 2)}
	expectViolations(t, JudgeGhosts(l), 1, "not_read_long_enough")
}

func TestGhostsFailWithNothingRead(t *testing.T) {
	expectViolations(t, JudgeGhosts(Leaving{LeftMs: 1000, Readings: readings(500, "n1", 0)}), 1, "nothing_read")
}
