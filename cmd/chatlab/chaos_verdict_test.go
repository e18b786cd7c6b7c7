package main

import (
	"context"
	"strings"
	"testing"
)

// The verdict line says what happened: a scenario whose point is to lose
// messages names the loss, and a mutated run says its nodes were broken
// on purpose before it fails.
func TestVerdictLineSaysWhatHappened(t *testing.T) {
	out := t.TempDir()
	code, _, stderr := runCommand(t, context.Background(), "chaos", "--scenario", "pubsub-loses", "--out", out)
	if code != 0 || !strings.HasPrefix(stderr, "no-loss broke, as expected: ") || strings.Contains(stderr, "PASS") {
		t.Errorf("pubsub-loses: exit %d, stderr %q; want 0 and a line that starts with what broke", code, stderr)
	}
	code, _, stderr = runCommand(t, context.Background(), "chaos", "--scenario", "node-restart", "--mutation", "drop", "--out", out)
	if code != 1 || !strings.HasPrefix(stderr, "nodes broken on purpose (--mutation drop)") || !strings.Contains(stderr, "\nFAIL: node-restart") {
		t.Errorf("--mutation drop: exit %d, stderr %q; want 1, the mutation said first, then FAIL", code, stderr)
	}
}

// A target that cannot carry out what was asked refuses it as bad usage:
// exit 2 with the reason, before anything runs.
func TestTargetRefusalExits2(t *testing.T) {
	for _, args := range [][]string{
		{"--scenario", "node-restart", "--target", "local", "--mutation", "drop"},
		{"--scenario", "node-restart", "--target", "docker", "--mutation", "drop"},
		{"--scenario", "network-delay", "--target", "docker"},
	} {
		code, _, stderr := runCommand(t, context.Background(), append([]string{"chaos", "--out", t.TempDir()}, args...)...)
		if code != 2 || !strings.Contains(stderr, "target") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and the target's reason", args, code, stderr)
		}
	}
}

// A run stopped by a signal (its context ends) says it was interrupted,
// not "context canceled".
func TestInterruptedRunSaysSo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code, _, stderr := runCommand(t, ctx, "chaos", "--scenario", "node-restart", "--pace", "1", "--out", t.TempDir())
	if code != 1 || stderr != "chatlab chaos: interrupted; no report written\n" {
		t.Errorf("exit %d, stderr %q; want 1 and interrupted", code, stderr)
	}
}
