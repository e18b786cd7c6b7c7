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
