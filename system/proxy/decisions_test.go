package proxy

import (
	"testing"
	"time"

	"chatlab/system/balance"
)

func TestDecisionsAreNumberedAndReadFromWhereTheReaderLeftOff(t *testing.T) {
	p := &Proxy{startedAt: time.UnixMilli(1_000_000)}
	p.decisions.append([]balance.Decision{{Kind: balance.DecidedStart}, {Kind: balance.DecidedPick, AtMs: 5, Backend: "n1", Up: true}})
	first := p.DecisionsAfter(0)
	if first.Next != 2 || len(first.Decisions) != 2 || first.Decisions[1].AtMs != 1_000_005 || first.StartedAtMs != 1_000_000 {
		t.Fatalf("first read: %+v", first)
	}
	p.decisions.append([]balance.Decision{{Kind: balance.DecidedDown, AtMs: 9, Backend: "n1"}})
	second := p.DecisionsAfter(first.Next)
	if second.Next != 3 || len(second.Decisions) != 1 || second.Decisions[0].Kind != balance.DecidedDown {
		t.Fatalf("second read: %+v", second)
	}
	if again := p.DecisionsAfter(second.Next); again.Next != 3 || len(again.Decisions) != 0 {
		t.Fatalf("a read with nothing new: %+v", again)
	}
}

func TestADecisionLogThatOverflowedSaysHowManyWereMissed(t *testing.T) {
	p := &Proxy{startedAt: time.UnixMilli(0)}
	for range decisionLogLenMax + 10 {
		p.decisions.append([]balance.Decision{{Kind: balance.DecidedPick}})
	}
	read := p.DecisionsAfter(0)
	total := uint64(decisionLogLenMax + 10)
	if read.Missed == 0 || read.Missed+uint64(len(read.Decisions)) != total || len(read.Decisions) > decisionLogLenMax || read.Next != total {
		t.Fatalf("missed %d, got %d, next %d", read.Missed, len(read.Decisions), read.Next)
	}
}
