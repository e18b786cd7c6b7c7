package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"chatlab/chaos"
	"chatlab/scenarios"
)

// Off a terminal, a real run's progress is one plain line per phase and
// per fault, never a control character.
func TestRunProgressPlainLines(t *testing.T) {
	scenario, err := scenarios.Load("node-restart")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p := newRunProgress(&out, chaosOptions{scenario: scenario, target: "local", seedFirst: 3})
	p.Phase(chaos.PhaseStarting, 0)
	p.Phase(chaos.PhaseRunning, 0)
	p.Sample(chaos.Sample{AtMs: 4000}, nil)
	p.Step(8*time.Second, chaos.Timeline(scenario.Faults)[0])
	p.Phase(chaos.PhaseConverging, 20*time.Second)
	p.Phase(chaos.PhaseChecking, 21*time.Second)
	p.Checked(nil)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	wantPrefixes := []string{
		"node-restart on local, seed 3: starting at 0s",
		"node-restart on local, seed 3: running at 0s",
		"node-restart on local, seed 3: restart n1 at 8s",
		"node-restart on local, seed 3: converging at 20s",
		"node-restart on local, seed 3: checking at 21s",
	}
	if len(lines) != len(wantPrefixes) {
		t.Fatalf("progress:\n%s\nwant %d lines", out.String(), len(wantPrefixes))
	}
	for i, want := range wantPrefixes {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d %q, want it to start with %q", i+1, lines[i], want)
		}
	}
	if strings.ContainsAny(out.String(), "\r\033") {
		t.Errorf("control characters off a terminal: %q", out.String())
	}
}
